"""The roll-ups built at load, generated from the declaration in metrics.model, and `build`, which ingest calls.

The facts' roll-ups, billing_months and ticket_months, keep each month once, summed per the customer attributes the
model keeps in roll-ups and `tier_codes`, the customers' tiers from that month's end on (TIER_CODES): a window of
any run of whole months reads its months, and a tier as of the window's end or each period's end (SPEC 5.1) is the
code of that month end (metrics.facts.rollup_tier_sql). The parts stored are the facts' additive parts
(metrics.facts.TICKET_PARTS and the bill sums), so a metric's measures over a roll-up are the same SQL as over the
per-row parts (one definition). The window roll-ups (visit_coverage, customer_counts, revenue_retention_months) are
kept per month end `as_of` with tiers as of it; customer_month_ends holds each customer's running bill total and
tier at every month end as columns.

`build(con, months=None)` builds them all; with `months` (month starts an append touched) it deletes and
re-inserts only what the earliest of them changes (a new month changes every later month end's tiers): the
month-end slices from it on and the months whose tier letters reach it, keeping the others. The tier snapshots
must be current first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import partial

import duckdb

from metrics.model import (
    CUSTOMER_ATTRIBUTES,
    MONTH_ROLLUPS,
    ROLLUP_CUSTOMER_ATTRIBUTES,
    ROLLUP_HORIZON_MONTHS,
    TICKET_DIMENSIONS,
    MonthRollup,
)

ATTRS = ROLLUP_CUSTOMER_ATTRIBUTES
BILL_SUMS = ("amount_billed", "amount_paid", "consumption_kwh")


def _slices(con: duckdb.DuckDBPyConnection, months: Iterable[dt.date] | None) -> list[dt.date]:
    days = [row[0] for row in con.execute("SELECT as_of FROM tier_snapshot_dates ORDER BY as_of").fetchall()]
    if months is None:
        return days
    first = min(months)
    return [day for day in days if day >= first]


# Month ends summed per statement: one statement for all 36 of a large warehouse's slices holds every group of the
# aggregate at once; one per month end pays a scan of the facts for each.
SLICES_PER_STATEMENT = 6


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return table in {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary")
                     .fetchall()}


def _write(con: duckdb.DuckDBPyConnection, table: str, select: str, months: Iterable[dt.date] | None) -> None:
    """`table` from `select` for every slice (a whole build: all month ends), or (an append: `months` given) its
    slices from the earliest of them on deleted and inserted again, SLICES_PER_STATEMENT month ends per statement.
    `select` reads the month ends from the temporary table `slice_days` (as_of)."""
    slices = _slices(con, months)
    exists = _exists(con, table)
    batches = [slices[i:i + SLICES_PER_STATEMENT] for i in range(0, len(slices), SLICES_PER_STATEMENT)]
    for i, batch in enumerate(batches or [[]]):
        con.execute("CREATE OR REPLACE TEMP TABLE slice_days AS SELECT unnest($days::DATE[]) AS as_of",
                    {"days": batch})
        if i == 0 and (months is None or not exists):
            con.execute(f"CREATE OR REPLACE TABLE {table} AS {select}")
        else:
            if i == 0:
                con.execute(f"DELETE FROM {table} WHERE list_contains($days, as_of)", {"days": slices})
            con.execute(f"INSERT INTO {table} {select}")
    con.execute("DROP TABLE IF EXISTS slice_days")


# The one-copy roll-ups (billing_months, ticket_months) keep each month once, its rows summed per customer attributes
# and `tier_codes`: the tiers of the row's customers at the end of the row's month and of each of the
# ROLLUP_HORIZON_MONTHS - 1 months after it (as far as the last snapshot), two bits each (TIER_CODES; 0 for a month
# end without a snapshot or a customer without a tier then), the row's own month end in the lowest bits. A query reads
# the code of the month end whose tier it needs (metrics.facts.rollup_tier_sql): any run of whole months, by month or
# over the window, from one copy. Built from each customer's path of tier letters (TIER_LETTERS).
TIER_CODES = {"VIP": 1, "key": 2, "standard": 3}
TIER_LETTERS = {"V": "VIP", "k": "key", "s": "standard"}


def tier_code_sql(codes: str, offset: str) -> str:
    """The code (TIER_CODES; 0: none) of the tier a roll-up row's `codes` hold `offset` (an SQL integer) month ends
    after the row's month's end."""
    return f"(({codes} >> CAST(2 * ({offset}) AS INTEGER)) & 3)"


def tier_name_sql(code: str) -> str:
    """The tier of a code (tier_code_sql); null for 0 (no snapshot, no tier, or beyond the month ends kept)."""
    return f"CASE {code} {' '.join(f'WHEN {n} THEN {tier!r}' for tier, n in TIER_CODES.items())} END"


def _codes_of_letters_sql(letters: str) -> str:
    """`letters` (TIER_LETTERS, '-' none) as tier codes: letter i in bits 2i and 2i + 1."""
    code = " ".join(f"WHEN '{letter}' THEN {TIER_CODES[tier]}" for letter, tier in TIER_LETTERS.items())
    return (f"coalesce(list_sum(list_transform(range(length({letters})), lambda i: "
            f"CAST(CASE substr({letters}, i + 1, 1) {code} ELSE 0 END AS HUGEINT) << CAST(2 * i AS INTEGER))), "
            f"CAST(0 AS HUGEINT))")


def _customer_paths(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """A temporary table `customer_paths` (customer_key, path): each customer's tier letters at every month end from
    the first snapshot's to the last's, in calendar order ('-' for a month without a snapshot or a customer without a
    tier), read from customer_month_ends (which must be current); the first snapshot's month (None: no snapshot)."""
    days = [row[0] for row in con.execute("SELECT as_of FROM tier_snapshot_dates ORDER BY as_of").fetchall()]
    made = "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'customer_paths' AND temporary"
    if con.execute(made).fetchall()[0][0]:  # made by an earlier step of the same build (build drops it at its end)
        return days[0].replace(day=1) if days else None
    if not days:
        con.execute("CREATE OR REPLACE TEMP TABLE customer_paths AS "
                    "SELECT customer_key, '' AS path FROM customer_facts")
        return None
    first, last = days[0].replace(day=1), days[-1].replace(day=1)
    known = {day.replace(day=1) for day in days}
    letters, month = [], first
    while month <= last:
        end = (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        letters.append(f"coalesce(left({month_end_column('tier', end)}, 1), '-')" if month in known else "'-'")
        month = end + dt.timedelta(days=1)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE customer_paths AS
                    SELECT customer_key, concat({', '.join(letters)}) AS path FROM customer_month_ends""")
    return first


def _tiers_from_month_sql(month: str, first: dt.date | None) -> str:
    """A fact row's `tiers`, letters (TIER_LETTERS) packed into tier_codes later, from its customer's path
    (customer_paths p, from the month `first` on) and its month `month` (an SQL date): the letters from that month's
    end on, ROLLUP_HORIZON_MONTHS of them, with '-' for the months before the first snapshot."""
    if first is None:
        return "''"
    h = ROLLUP_HORIZON_MONTHS
    gap = f"date_diff('month', DATE '{first:%Y-%m-%d}', {month})"
    return (f"CASE WHEN {gap} <= -{h} THEN repeat('-', {h}) WHEN {gap} < 0 THEN repeat('-', -{gap}) || "
            f"left(coalesce(p.path, ''), {h} + {gap}) ELSE substr(coalesce(p.path, ''), {gap} + 1, {h}) END")


def _rebuilt_from(months: Iterable[dt.date]) -> dt.date:
    """The first month whose one-copy roll-up rows an append of `months` changes: ROLLUP_HORIZON_MONTHS - 1 months
    before the earliest (earlier rows' tier letters end before it; facts change only from it on)."""
    since = min(months).replace(day=1)
    for _ in range(ROLLUP_HORIZON_MONTHS - 1):
        since = (since - dt.timedelta(days=1)).replace(day=1)
    return since


# Months summed per statement by the one-copy roll-ups: their groups at once, not the whole history's.
MONTHS_PER_STATEMENT = 12


def _write_months(con: duckdb.DuckDBPyConnection, table: str, facts: str, month: str,
                  select: str, months: Iterable[dt.date] | None) -> None:
    """A one-copy roll-up `table` from `select`, MONTHS_PER_STATEMENT months of `facts` at a time (`select` reads
    the parameters $first and $stop: it sums the months from $first up to before $stop). With `months` (an append)
    only the rows of the months whose tier codes reach the earliest of them are deleted and summed again: from
    ROLLUP_HORIZON_MONTHS - 1 months before it on (earlier rows' letters end before it; facts change only from it
    on)."""
    found = con.execute(f"SELECT CAST(min({month}) AS DATE), CAST(max({month}) AS DATE) FROM {facts}").fetchall()[0]
    lowest, highest = (None, None) if found[0] is None else (found[0].replace(day=1), found[1].replace(day=1))
    whole = months is None or not _exists(con, table)
    since = lowest
    if months is not None and not whole:
        since = _rebuilt_from(months)
        con.execute(f"DELETE FROM {table} WHERE month >= $since", {"since": since})
    batches = []
    if lowest is not None:
        start = max(since, lowest) if since is not None else lowest
        while start <= highest:
            stop = start
            for _ in range(MONTHS_PER_STATEMENT):
                stop = (stop + dt.timedelta(days=32)).replace(day=1)
            batches.append((start, stop))
            start = stop
    for i, (start, stop) in enumerate(batches or [(dt.date(1, 1, 1), dt.date(1, 1, 1))]):
        bounds = {"first": start, "stop": stop}
        if i == 0 and whole:
            con.execute(f"CREATE OR REPLACE TABLE {table} AS {select}", bounds)
        else:
            con.execute(f"INSERT INTO {table} {select}", bounds)


def _coded(grouped: str, columns: str) -> str:
    """`columns` of the rows of `grouped` (a query with a `tiers` column of letters, see _tiers_from_month_sql) with
    `tier_codes` in its place, each distinct path of letters packed once; in month order."""
    return f"""
        WITH g AS MATERIALIZED ({grouped}),
        c AS (SELECT tiers, {_codes_of_letters_sql('tiers')} AS tier_codes FROM (SELECT DISTINCT tiers FROM g))
        SELECT {columns} FROM g JOIN c USING (tiers) ORDER BY g.month"""


def build_billing_months(con: duckdb.DuckDBPyConnection, months: Iterable[dt.date] | None = None) -> None:
    """billing_months: bills summed per bill month, customer attributes and `tier_codes` (TIER_CODES), each month
    once."""
    first = _customer_paths(con)
    _write_months(con, "billing_months", "billing_facts", "period", _coded(f"""
        SELECT b.period AS month, {', '.join(f'b.{a}' for a in ATTRS)},
               {_tiers_from_month_sql('b.period', first)} AS tiers,
               {', '.join(f'sum(b.{c}) AS {c}' for c in BILL_SUMS)}, count(*) AS bills
        FROM billing_facts b LEFT JOIN customer_paths p USING (customer_key)
        WHERE b.period >= $first::DATE AND b.period < $stop::DATE
        GROUP BY ALL""", f"g.month, {', '.join(f'g.{a}' for a in ATTRS)}, c.tier_codes, "
                         f"{', '.join(f'g.{c}' for c in BILL_SUMS)}, g.bills"), months)


def build_ticket_months(con: duckdb.DuckDBPyConnection, months: Iterable[dt.date] | None = None) -> None:
    """ticket_months: tickets counted per created month, customer attributes, ticket type, channel, category, the
    months the SLA outcome became known (met, breached) and `tier_codes` (TIER_CODES), each month once, with the
    parts of every additive ticket metric (metrics.facts.TICKET_PARTS)."""
    from metrics.facts import TICKET_PARTS

    first = _customer_paths(con)
    month = "CAST(date_trunc('month', t.created_at) AS DATE)"
    # Grouped by the text columns themselves: numbering them first (a join of every ticket on eight columns) costs
    # more than it saves (measured at 1 M: 4.2 against 3.6 CPU s for a year of tickets, plus 2.8 s to number them).
    grouped = f"""
        SELECT {month} AS month, {', '.join(f't.{c}' for c in ATTRS)},
               {_tiers_from_month_sql(month, first)} AS tiers, {', '.join(f't.{c}' for c in TICKET_DIMENSIONS)},
               CAST(date_trunc('month', t.sla_met_after) AS DATE) AS sla_met_month,
               CAST(date_trunc('month', t.sla_breached_after) AS DATE) AS sla_breached_month,
               {', '.join(f'CAST(sum({sql.format(t="t")}) AS BIGINT) AS {name}' for name, sql in TICKET_PARTS.items())}
        FROM ticket_facts t LEFT JOIN customer_paths p USING (customer_key)
        WHERE t.created_at >= $first::DATE AND t.created_at < $stop::DATE
        GROUP BY ALL"""
    _write_months(con, "ticket_months", "ticket_facts", "created_at", _coded(grouped, f"""
        g.month, {', '.join(f'g.{c}' for c in ATTRS)}, c.tier_codes, {', '.join(f'g.{c}' for c in TICKET_DIMENSIONS)},
        g.sla_met_month, g.sla_breached_month, {', '.join(f'g.{name}' for name in TICKET_PARTS)}"""), months)


def _month_sums(table: str) -> tuple[str, ...]:
    """The sums a one-copy roll-up keeps per group (every other column is a group key); a coarser copy sums them
    again."""
    from metrics.facts import TICKET_PARTS

    return {"billing_months": (*BILL_SUMS, "bills"), "ticket_months": tuple(TICKET_PARTS)}[table]


def build_coarser(rollup: MonthRollup, con: duckdb.DuckDBPyConnection, months: Iterable[dt.date] | None = None) -> None:
    """A coarser copy of a one-copy roll-up (metrics.model.MONTH_ROLLUPS): the whole one's rows summed over the
    customer attributes the copy leaves out, every other key kept, each sum in its own type. With `months` (an
    append) only the months the whole one rebuilt (_rebuilt_from) are summed again."""
    assert rollup.coarser_of is not None
    source, sums = rollup.coarser_of, _month_sums(rollup.coarser_of)
    types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = $t "
                             "AND schema_name = 'main' ORDER BY column_index", {"t": source}).fetchall())
    keys = [c for c in types if c not in sums and (c not in ATTRS or c in rollup.attributes)]
    since = None if months is None or not _exists(con, rollup.table) else _rebuilt_from(months)
    select = (f"SELECT {', '.join(keys)}, {', '.join(f'CAST(sum({c}) AS {types[c]}) AS {c}' for c in sums)} "
              f"FROM {source} WHERE month >= $since GROUP BY ALL")
    bounds = {"since": since or dt.date(1, 1, 1)}
    if since is None:
        con.execute(f"CREATE OR REPLACE TABLE {rollup.table} AS {select}", bounds)
    else:
        con.execute(f"DELETE FROM {rollup.table} WHERE month >= $since", bounds)
        con.execute(f"INSERT INTO {rollup.table} {select}", bounds)


def build_visit_coverage(con: duckdb.DuckDBPyConnection, months: Iterable[dt.date] | None = None) -> None:
    """visit_coverage: VIP and key customers (tier as of as_of) active on each month end, per customer attributes,
    tier and the month of their latest visit up to it (null: none): those visited in a window of whole months
    ending on as_of are those whose latest visit month is on or after the window's first month."""
    # each customer's months with a visit, worked out once for every batch of slices (as a CTE of the batch's
    # statement it was worked out again for each: a third of the step at 1 M customers)
    con.execute("""CREATE OR REPLACE TEMP TABLE visit_months AS
                   SELECT DISTINCT v.customer_key, CAST(date_trunc('month', v.visited_on) AS DATE) AS month
                   FROM visit_facts v""")
    try:
        _write(con, "visit_coverage", f"""
            WITH latest AS (
                SELECT s.customer_key, s.as_of, s.tier, v.month AS last_visit_month
                FROM (SELECT * FROM tier_snapshots WHERE as_of IN (SELECT as_of FROM slice_days)
                      AND tier IN ('VIP', 'key')) s
                ASOF LEFT JOIN temp.visit_months v ON v.customer_key = s.customer_key AND v.month <= s.as_of)
            SELECT l.as_of, {', '.join(f'c.{a}' for a in ATTRS)}, l.tier, l.last_visit_month, count(*) AS customers
            FROM latest l JOIN customer_facts c USING (customer_key)
            WHERE c.opened_on <= l.as_of AND (c.closed_on IS NULL OR c.closed_on >= l.as_of)
            GROUP BY ALL ORDER BY l.as_of""", months)
    finally:
        con.execute("DROP TABLE IF EXISTS temp.visit_months")


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


def _ticket_subset(con: duckdb.DuckDBPyConnection, table: str, select: str, order: str | None,
                   months: Iterable[dt.date] | None) -> None:
    """Keep `table`, a subset of ticket_facts' rows (`select`, a SELECT over ticket_facts t ending in its WHERE), in
    `order` if given: whole, or with `months` (an append) the tickets created from the earliest of them on deleted and
    inserted again from ticket_facts (which the append rebuilt from then on), after the others. `table` is one of
    this module's names, never text a user gave."""
    ordered = f"ORDER BY {order}" if order else ""
    if months is None or not _exists(con, table):
        con.execute(f"CREATE OR REPLACE TABLE {table} AS {select} {ordered}")
        return
    since = min(months)
    con.execute(f"DELETE FROM {table} WHERE created_at >= $since", {"since": since})
    con.execute(f"INSERT INTO {table} {select} AND t.created_at >= $since {ordered}", {"since": since})


def build_ticket_backlog(con: duckdb.DuckDBPyConnection, months: Iterable[dt.date] | None = None) -> None:
    """ticket_backlog: the tickets in the backlog at the end of some day (metrics.facts.EVER_IN_BACKLOG) with the
    columns a backlog query reads (BACKLOG_COLUMNS), in the order they leave it (BACKLOG_ORDER); an append puts its
    tickets after the others (_ticket_subset), most of them among the last to leave anyway."""
    from metrics.facts import BACKLOG_COLUMNS, BACKLOG_ORDER, EVER_IN_BACKLOG

    select = (f"SELECT {', '.join(f't.{c}' for c in BACKLOG_COLUMNS)} FROM ticket_facts t "
              f"WHERE ({EVER_IN_BACKLOG.format(t='t')})")
    _ticket_subset(con, "ticket_backlog", select, BACKLOG_ORDER, months)


def build_ticket_late_outcomes(con: duckdb.DuckDBPyConnection, months: Iterable[dt.date] | None = None) -> None:
    """ticket_late_outcomes: the tickets whose SLA outcome became known in a later month than they were created in
    (metrics.facts.LATE_OUTCOME), with every column of ticket_facts, put in region order afterwards
    (store_in_region_order). A window ending inside a month reads from it the tickets of its whole months known in
    that month (metrics.facts.ticket_parts_sources) instead of reading every ticket of those months (3 % of the
    tickets at 1 M customers)."""
    from metrics.facts import LATE_OUTCOME

    select = f"SELECT * FROM ticket_facts t WHERE ({LATE_OUTCOME.format(t='t')})"
    _ticket_subset(con, "ticket_late_outcomes", select, None, months)


def month_end_column(measure: str, as_of: dt.date) -> str:
    """The column of customer_month_ends holding `measure` (MONTH_END_MEASURES) as of the month end `as_of`: a name
    made from a date, never from text a user gave."""
    if measure not in MONTH_END_MEASURES:
        raise ValueError(f"no month-end measure {measure!r}")
    return f"{measure}_{as_of:%Y_%m}"


# What customer_month_ends holds per customer and month end: tier_snapshots' column and its type.
MONTH_END_MEASURES = {"billed_to": ("cumulative_billed", "DOUBLE"), "tier": ("tier", "VARCHAR")}


def _create_customer_month_ends(con: duckdb.DuckDBPyConnection) -> None:
    """customer_month_ends whole, in one statement: customer_facts and each month end's slice of tier_snapshots side
    by side by position (POSITIONAL JOIN), every one of them in customer_key order with every customer once
    (ingest.model.build_customer_facts, build_tier_snapshots). A row whose keys do not all match stops the build, so
    no customer can be given another's month ends. Writing the table once costs a third of adding its columns one
    month end at a time (UPDATE, as an append does)."""
    columns, slices, out_of_line = [], [], []
    for i, day in enumerate(_slices(con, None)):
        columns += [f"s{i}.{column} AS {month_end_column(measure, day)}"
                    for measure, (column, _kind) in MONTH_END_MEASURES.items()]
        slices.append(f"POSITIONAL JOIN (SELECT customer_key, {', '.join(c for c, _ in MONTH_END_MEASURES.values())} "
                      f"FROM tier_snapshots WHERE as_of = DATE '{day:%Y-%m-%d}' ORDER BY customer_key) s{i}")
        out_of_line.append(f"s{i}.customer_key IS DISTINCT FROM c.customer_key")
    check = (f"CASE WHEN {' OR '.join(out_of_line)} THEN error('customer_month_ends: a month end''s tier snapshot "
             f"does not hold every customer once, in customer_key order') END" if out_of_line else "NULL")
    con.execute(f"""CREATE OR REPLACE TABLE customer_month_ends AS
                    SELECT * EXCLUDE (out_of_line) FROM (
                        SELECT c.customer_key, c.customer_id, {', '.join(f'c.{a}' for a in CUSTOMER_ATTRIBUTES)},
                               c.opened_on, c.closed_on{''.join(f', {c}' for c in columns)}, {check} AS out_of_line
                        FROM (SELECT * FROM customer_facts ORDER BY customer_key) c {' '.join(slices)})
                    WHERE out_of_line IS NULL""")


def build_customer_month_ends(con: duckdb.DuckDBPyConnection, months: Iterable[dt.date] | None = None) -> None:
    """customer_month_ends: one row per customer with its attributes, opening and closing days and, for every month
    end with a tier snapshot, the snapshot's running total of the customer's bills up to it (`billed_to_YYYY_MM`,
    tier_snapshots' cumulative_billed) and its tier then (`tier_YYYY_MM`, default boundaries): tier_snapshots turned
    so that a window's revenue per customer (metrics.facts.window_revenue_sql), the customers in scope with their
    tier (metrics.query.scope_sql) and the tier it needs are columns of one row, read without joining two or three
    million-row slices of the snapshots. With `months` (an append, the customers
    unchanged) only the month ends from the earliest of them on are written again, new ones added as columns.
    Every customer has a row in every snapshot (ingest.model.build_tier_snapshots), so each month's columns are
    written for every customer."""
    exists = "customer_month_ends" in {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
    if months is None or not exists:
        _create_customer_month_ends(con)
        return
    for day in _slices(con, months):
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


# customer_month_ends first: the one-copy roll-ups read the customers' tier paths from it.
# Each coarser copy of a one-copy roll-up (metrics.model.MONTH_ROLLUPS) after the whole one it is summed from.
COARSER = {rollup.coarser_of: rollup for rollups in MONTH_ROLLUPS.values() for rollup in rollups if rollup.coarser_of}
STEPS = (("customer_month_ends", build_customer_month_ends),
         *((name, step) for whole, build_whole in (("billing_months", build_billing_months),
                                                     ("ticket_months", build_ticket_months))
           for name, step in ((whole, build_whole), (COARSER[whole].table, partial(build_coarser, COARSER[whole])))),
         ("visit_coverage", build_visit_coverage),
         ("customer_counts", build_customer_counts), ("revenue_retention_months", build_revenue_retention_months),
         ("ticket_backlog", build_ticket_backlog), ("ticket_late_outcomes", build_ticket_late_outcomes))


def build(con: duckdb.DuckDBPyConnection, months: Iterable[dt.date] | None = None) -> dict[str, float]:
    """Build every roll-up (months None), or re-insert the slices from the earliest of `months` on; the seconds each
    took. Needs customer_facts, billing_facts, ticket_facts, visit_facts, tier_snapshots and tier_snapshot_dates
    current."""
    import time

    months = None if months is None else list(months)
    seconds = {}
    try:
        for name, step in STEPS:
            started = time.perf_counter()
            step(con, months)
            seconds[name] = time.perf_counter() - started
    finally:  # a build that failed leaves no temporary table a later build on this connection would take as its own
        for table in ("customer_paths", "slice_days"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return seconds
