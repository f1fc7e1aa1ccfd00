"""The roll-ups built at load, generated from the declaration in metrics.model, and `build`, which ingest calls.

Each roll-up is keyed by `as_of`, a month end with a tier snapshot, and `month`, each of the ROLLUP_HORIZON_MONTHS
months up to it, with the customer attributes the model keeps in roll-ups and the customer's tier as of `as_of`:
a window of any run of whole months ending in `as_of`'s month reads the rows of one `as_of`, tiers as of the
window's end (SPEC 5.1), and a breakdown by period reads, for each period, the rows whose `as_of` is that period's
end. The parts stored are the facts' additive parts (metrics.facts.TICKET_PARTS and the bill sums), so a metric's
measures over a roll-up are the same SQL as over the per-row parts (one definition).

`build(con, months=None)` builds them all; with `months` (month starts an append touched) it deletes and
re-inserts only the slices whose `as_of` is in or after the earliest of them (a new month changes every later
month end's tiers), keeping the others. The tier snapshots those slices read must be current first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import duckdb

from metrics.model import CUSTOMER_ATTRIBUTES, ROLLUP_CUSTOMER_ATTRIBUTES, ROLLUP_HORIZON_MONTHS, TICKET_DIMENSIONS

ATTRS = ROLLUP_CUSTOMER_ATTRIBUTES
BILL_SUMS = ("amount_billed", "amount_paid", "consumption_kwh")


def _slices(con: duckdb.DuckDBPyConnection, months: Iterable[dt.date] | None) -> list[dt.date]:
    days = [row[0] for row in con.execute("SELECT as_of FROM tier_snapshot_dates ORDER BY as_of").fetchall()]
    if months is None:
        return days
    first = min(months)
    return [day for day in days if day >= first]


def _slice_months(con: duckdb.DuckDBPyConnection) -> None:
    """A temporary table `slice_months` (as_of, position, month): every slice's month end, its position in the tier
    paths and each of the ROLLUP_HORIZON_MONTHS months it keeps, so facts meet their slices in an equality join."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE slice_months AS
        SELECT d.as_of, d.position, CAST(m AS DATE) AS month
        FROM slice_days d, unnest(generate_series(CAST(date_trunc('month', d.as_of) AS TIMESTAMP)
                                                  - INTERVAL {ROLLUP_HORIZON_MONTHS - 1} MONTH,
                                                  CAST(date_trunc('month', d.as_of) AS TIMESTAMP),
                                                  INTERVAL 1 MONTH)) AS g(m)""")


# Month ends summed per statement: one statement for all 36 of a large warehouse's slices holds every group of the
# aggregate at once (12 M ticket groups at 100,000 customers: past the load's memory limit, it spills); one per month
# end pays a scan of the facts for each.
SLICES_PER_STATEMENT = 6


def _write(con: duckdb.DuckDBPyConnection, table: str, select: str, months: Iterable[dt.date] | None) -> None:
    """`table` from `select` for every slice (a whole build: all month ends), or (an append: `months` given) its
    slices from the earliest of them on deleted and inserted again, SLICES_PER_STATEMENT month ends per statement.
    `select` reads the month ends, with their position in the tier paths, from the temporary table `slice_days`
    (as_of, position), and with each month they keep from `slice_months`."""
    _tier_paths(con)
    slices = _slices(con, months)
    exists = table in {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary")
                       .fetchall()}
    batches = [slices[i:i + SLICES_PER_STATEMENT] for i in range(0, len(slices), SLICES_PER_STATEMENT)]
    for i, batch in enumerate(batches or [[]]):
        con.execute("""CREATE OR REPLACE TEMP TABLE slice_days AS
                       SELECT i.as_of, i.position FROM tier_path_index i WHERE list_contains($days, i.as_of)""",
                    {"days": batch})
        _slice_months(con)
        if i == 0 and (months is None or not exists):
            con.execute(f"CREATE OR REPLACE TABLE {table} AS {select}")
        else:
            if i == 0:
                con.execute(f"DELETE FROM {table} WHERE list_contains($days, as_of)", {"days": slices})
            con.execute(f"INSERT INTO {table} {select}")
    con.execute("DROP TABLE IF EXISTS slice_days")
    con.execute("DROP TABLE IF EXISTS slice_months")


def _tier_paths(con: duckdb.DuckDBPyConnection) -> None:
    """Temporary tables `tier_paths` (customer_key, path): each customer's tiers at every snapshot month end in order,
    one letter each (V, k, s), and `tier_path_index`, each month end's position in the paths. Customers with the same
    attributes and path share every slice's tier, so the facts are summed once per path (a few thousand) instead of
    being joined with a million tiers for every slice; `_tier_at` reads a slice's tier from the path."""
    made = "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'tier_paths' AND temporary"
    if con.execute(made).fetchall()[0][0]:
        return  # made by an earlier step of the same build (build drops it at its end)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE tier_paths AS
        SELECT customer_key, string_agg(coalesce(left(tier, 1), '-'), '' ORDER BY as_of) AS path
        FROM tier_snapshots GROUP BY customer_key""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE tier_path_index AS
        SELECT as_of, CAST(row_number() OVER (ORDER BY as_of) AS INTEGER) AS position FROM tier_snapshot_dates""")


def _tier_at(path: str, position: str) -> str:
    """The tier a path holds at a month end's position."""
    return (f"CASE substr({path}, {position}, 1) "
            "WHEN 'V' THEN 'VIP' WHEN 'k' THEN 'key' WHEN 's' THEN 'standard' END")


def build_billing_parts(con: duckdb.DuckDBPyConnection, months: Iterable[dt.date] | None = None) -> None:
    """billing_parts: bills summed per as_of, bill month, customer attributes and tier as of as_of."""
    _tier_paths(con)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE billing_by_path AS
        SELECT b.period, {', '.join(f'b.{a}' for a in ATTRS)}, tp.path,
               {', '.join(f'sum(b.{c}) AS {c}' for c in BILL_SUMS)}, count(*) AS bills
        FROM billing_facts b LEFT JOIN tier_paths tp USING (customer_key)
        GROUP BY ALL ORDER BY b.period""")
    # Summed again per slice: sums of per-path sums (the order of floating-point additions differs from one pass over
    # the bills in the last digits only).
    _write(con, "billing_parts", f"""
        SELECT d.as_of, b.period AS month, {', '.join(f'b.{a}' for a in ATTRS)},
               {_tier_at('b.path', 'd.position')} AS tier,
               {', '.join(f'sum(b.{c}) AS {c}' for c in BILL_SUMS)}, CAST(sum(b.bills) AS BIGINT) AS bills
        FROM billing_by_path b JOIN slice_months d ON d.month = b.period
        GROUP BY ALL ORDER BY d.as_of, month""", months)
    con.execute("DROP TABLE billing_by_path")


# What a ticket roll-up row is counted by besides its month and tier: the customer's attributes and the ticket's.
TICKET_KIND = (*ATTRS, *TICKET_DIMENSIONS)


def build_ticket_parts(con: duckdb.DuckDBPyConnection, months: Iterable[dt.date] | None = None) -> None:
    """ticket_as_of: tickets counted per as_of, created month, customer attributes, ticket type, channel, category, the
    months the SLA outcome became known (met, breached) and tier as of as_of, with the parts of every additive ticket
    metric (metrics.facts.TICKET_PARTS). Summed from one temporary table of per-ticket parts whose text columns are
    numbered (`ticket_kinds`) and whose customers are replaced by their tier path (_tier_paths)."""
    from metrics.facts import TICKET_PARTS

    kind_matches = " AND ".join(f"k.{c} IS NOT DISTINCT FROM t.{c}" for c in TICKET_KIND)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ticket_kinds AS
        SELECT row_number() OVER () AS kind, * FROM (SELECT DISTINCT {', '.join(TICKET_KIND)} FROM ticket_facts)""")
    _tier_paths(con)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ticket_rows AS
        SELECT k.kind, tp.path, CAST(date_trunc('month', t.created_at) AS DATE) AS month,
               CAST(date_trunc('month', t.sla_met_after) AS DATE) AS sla_met_month,
               CAST(date_trunc('month', t.sla_breached_after) AS DATE) AS sla_breached_month,
               {', '.join(f'CAST(sum({sql.format(t="t")}) AS BIGINT) AS {name}' for name, sql in TICKET_PARTS.items())}
        FROM ticket_facts t JOIN ticket_kinds k ON {kind_matches} LEFT JOIN tier_paths tp USING (customer_key)
        GROUP BY ALL ORDER BY month""")
    resums = ", ".join(f"CAST(sum(t.{name}) AS BIGINT) AS {name}" for name in TICKET_PARTS)
    _write(con, "ticket_as_of", f"""
        SELECT g.as_of, g.month, {', '.join(f'k.{c}' for c in ATTRS)}, g.tier,
               {', '.join(f'k.{c}' for c in TICKET_DIMENSIONS)}, g.sla_met_month, g.sla_breached_month,
               {', '.join(f'g.{name}' for name in TICKET_PARTS)}
        FROM (SELECT d.as_of, t.month, t.kind, {_tier_at('t.path', 'd.position')} AS tier, t.sla_met_month,
                     t.sla_breached_month, {resums}
              FROM ticket_rows t JOIN slice_months d ON d.month = t.month GROUP BY ALL) g
        JOIN ticket_kinds k USING (kind) ORDER BY g.as_of, g.month""", months)
    con.execute("DROP TABLE ticket_rows")
    con.execute("DROP TABLE ticket_kinds")


def build_visit_coverage(con: duckdb.DuckDBPyConnection, months: Iterable[dt.date] | None = None) -> None:
    """visit_coverage: VIP and key customers (tier as of as_of) active on each month end, per customer attributes,
    tier and the month of their latest visit up to it (null: none): those visited in a window of whole months
    ending on as_of are those whose latest visit month is on or after the window's first month."""
    _write(con, "visit_coverage", f"""
        WITH visit_months AS (
            SELECT DISTINCT c.customer_key, CAST(date_trunc('month', v.visited_on) AS DATE) AS month
            FROM visits v JOIN customer_facts c USING (customer_id)),
        latest AS (
            SELECT s.customer_key, s.as_of, s.tier, v.month AS last_visit_month
            FROM (SELECT * FROM tier_snapshots WHERE as_of IN (SELECT as_of FROM slice_days)
                  AND tier IN ('VIP', 'key')) s
            ASOF LEFT JOIN visit_months v ON v.customer_key = s.customer_key AND v.month <= s.as_of)
        SELECT l.as_of, {', '.join(f'c.{a}' for a in ATTRS)}, l.tier, l.last_visit_month, count(*) AS customers
        FROM latest l JOIN customer_facts c USING (customer_key)
        WHERE c.opened_on <= l.as_of AND (c.closed_on IS NULL OR c.closed_on >= l.as_of)
        GROUP BY ALL ORDER BY l.as_of""", months)


def build_customer_counts(con: duckdb.DuckDBPyConnection, months: Iterable[dt.date] | None = None) -> None:
    """customer_counts: customers opened by each month end, per customer attributes, tier as of it, the month they
    closed in and the last month end on which they were still active (closed on it or later; both null: open). Those
    active in a window of whole months ending on as_of are those not closed before the window's first month
    (metrics.customer.active_customers); those active on as_of and on a later month end, those whose last active month
    end is neither before as_of nor before the later one (metrics.customer.logo_retention: the cohort of the day before
    a window starts, tiers as of that day)."""
    _write(con, "customer_counts", f"""
        SELECT s.as_of, {', '.join(f'c.{a}' for a in ATTRS)}, s.tier,
               CAST(date_trunc('month', c.closed_on) AS DATE) AS closed_month,
               CASE WHEN c.closed_on = last_day(c.closed_on) THEN c.closed_on
                    ELSE CAST(date_trunc('month', c.closed_on) - INTERVAL 1 DAY AS DATE) END AS last_active_month_end,
               count(*) AS customers
        FROM tier_snapshots s JOIN customer_facts c USING (customer_key)
        WHERE s.as_of IN (SELECT as_of FROM slice_days) AND c.opened_on <= s.as_of
        GROUP BY ALL ORDER BY s.as_of""", months)


def build_revenue_retention_months(con: duckdb.DuckDBPyConnection, months: Iterable[dt.date] | None = None) -> None:
    """revenue_retention_months: revenue retention's parts (metrics.customer.REVENUE_RETENTION_PARTS) for the month
    ending on each as_of, summed per customer attributes and the cohort's tier, as of the same month a year earlier
    (metrics.customer.revenue_base_day): the cohort is the customers billed more than zero that month, `base` their
    revenue then, `current` their revenue in as_of's month (each snapshot holds the customer's month revenue)."""
    from metrics.customer import REVENUE_RETENTION_PARTS

    sums = ", ".join(f"sum({sql.format(x='r')}) AS {name}" for name, sql in REVENUE_RETENTION_PARTS.items())
    _write(con, "revenue_retention_months", f"""
        WITH r AS (
            SELECT d.as_of, b.customer_key, b.tier, b.month_revenue AS base, coalesce(n.month_revenue, 0) AS current
            FROM slice_days d
            JOIN tier_snapshots b ON b.as_of = last_day(d.as_of - INTERVAL 12 MONTH) AND b.month_revenue > 0
            LEFT JOIN tier_snapshots n ON n.customer_key = b.customer_key AND n.as_of = d.as_of)
        SELECT r.as_of, {', '.join(f'c.{a}' for a in ATTRS)}, r.tier, {sums}
        FROM r JOIN customer_facts c USING (customer_key)
        GROUP BY ALL ORDER BY r.as_of""", months)


def build_ticket_backlog(con: duckdb.DuckDBPyConnection, months: Iterable[dt.date] | None = None) -> None:
    """ticket_backlog: the tickets in the backlog at the end of some day (metrics.facts.EVER_IN_BACKLOG) with the
    columns a backlog query reads (BACKLOG_COLUMNS), in the order they leave it (BACKLOG_ORDER). With `months` (an
    append), the tickets created from the earliest of them on are deleted and inserted again from ticket_facts (which
    the append rebuilt from then on); they go after the others, most of them among the last to leave anyway."""
    from metrics.facts import BACKLOG_COLUMNS, BACKLOG_ORDER, EVER_IN_BACKLOG

    select = (f"SELECT {', '.join(f't.{c}' for c in BACKLOG_COLUMNS)} FROM ticket_facts t "
              f"WHERE ({EVER_IN_BACKLOG.format(t='t')})")
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'ticket_backlog' AND NOT temporary"
                         ).fetchall()[0][0]
    if months is None or not exists:
        con.execute(f"CREATE OR REPLACE TABLE ticket_backlog AS {select} ORDER BY {BACKLOG_ORDER}")
        return
    since = min(months)
    con.execute("DELETE FROM ticket_backlog WHERE created_at >= $since", {"since": since})
    con.execute(f"INSERT INTO ticket_backlog {select} AND t.created_at >= $since ORDER BY {BACKLOG_ORDER}",
                {"since": since})


def month_end_column(measure: str, as_of: dt.date) -> str:
    """The column of customer_month_ends holding `measure` (MONTH_END_MEASURES) as of the month end `as_of`: a name
    made from a date, never from text a user gave."""
    if measure not in MONTH_END_MEASURES:
        raise ValueError(f"no month-end measure {measure!r}")
    return f"{measure}_{as_of:%Y_%m}"


# What customer_month_ends holds per customer and month end: tier_snapshots' column and its type.
MONTH_END_MEASURES = {"billed_to": ("cumulative_billed", "DOUBLE"), "tier": ("tier", "VARCHAR")}


def build_customer_month_ends(con: duckdb.DuckDBPyConnection, months: Iterable[dt.date] | None = None) -> None:
    """customer_month_ends: one row per customer with its attributes and, for every month end with a tier snapshot,
    the snapshot's running total of the customer's bills up to it (`billed_to_YYYY_MM`, tier_snapshots'
    cumulative_billed) and its tier then (`tier_YYYY_MM`, default boundaries): tier_snapshots turned so that a
    window's revenue per customer (metrics.facts.window_revenue_sql) and the tier it needs are columns of one row,
    read without joining two or three million-row slices of the snapshots. With `months` (an append, the customers
    unchanged) only the month ends from the earliest of them on are written again, new ones added as columns.
    Every customer has a row in every snapshot (ingest.model.build_tier_snapshots), so each month's columns are
    written for every customer."""
    exists = "customer_month_ends" in {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
    whole = months is None or not exists
    if whole:
        con.execute(f"""CREATE OR REPLACE TABLE customer_month_ends AS
                        SELECT customer_key, customer_id, {', '.join(CUSTOMER_ATTRIBUTES)}
                        FROM customer_facts ORDER BY customer_key""")
    for day in _slices(con, None if whole else months):
        assignments = []
        for measure, (column, kind) in MONTH_END_MEASURES.items():
            name = month_end_column(measure, day)
            con.execute(f"ALTER TABLE customer_month_ends ADD COLUMN IF NOT EXISTS {name} {kind}")
            assignments.append(f"{name} = s.{column}")
        # one month end at a time: the update joins one 1 M-row slice, where all of them at once outgrow the memory
        con.execute(f"""UPDATE customer_month_ends m SET {', '.join(assignments)}
                        FROM (SELECT customer_key, {', '.join(c for c, _ in MONTH_END_MEASURES.values())}
                              FROM tier_snapshots WHERE as_of = $as_of) s
                        WHERE m.customer_key = s.customer_key""", {"as_of": day})


STEPS = (("billing_parts", build_billing_parts), ("ticket_as_of", build_ticket_parts),
         ("visit_coverage", build_visit_coverage), ("customer_counts", build_customer_counts),
         ("revenue_retention_months", build_revenue_retention_months),
         ("ticket_backlog", build_ticket_backlog), ("customer_month_ends", build_customer_month_ends))


def build(con: duckdb.DuckDBPyConnection, months: Iterable[dt.date] | None = None) -> dict[str, float]:
    """Build every roll-up (months None), or re-insert the slices from the earliest of `months` on; the seconds each
    took. Needs customer_facts, billing_facts, ticket_facts, tier_snapshots and tier_snapshot_dates current."""
    import time

    months = None if months is None else list(months)
    seconds = {}
    try:
        for name, step in STEPS:
            started = time.perf_counter()
            step(con, months)
            seconds[name] = time.perf_counter() - started
    finally:  # a build that failed leaves no temporary table a later build on this connection would take as its own
        for table in ("tier_paths", "tier_path_index", "slice_days", "slice_months", "billing_by_path", "ticket_rows",
                      "ticket_kinds"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return seconds
