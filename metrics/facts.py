"""Grouped aggregates over each fact table, filtered through the customer scope.

Each helper takes the measures as SQL over the fact alias and returns the `by` columns plus the
measures. Time attribution follows SPEC section 4: bills by period, tickets by created_at,
surveys by surveyed_on, visits by visited_on, churn by closed_on.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd

from metrics.filters import Filters
from metrics.inputs import loaded_inputs
from metrics.model import ROLLUP_HORIZON_MONTHS, month_rollup, rollups_answer
from metrics.query import (
    CUSTOMER_ATTRIBUTES,
    CUSTOMER_DIMENSIONS,
    TICKET_DIMENSIONS,
    TIME_GRAINS,
    Grouping,
    Params,
    TierDate,
    between,
    breakdown_tier_date,
    customer_conditions,
    fact_filters,
    month_between,
    month_end,
    periods,
    rollup_conditions,
    run,
    run_on,
    scope_sql,
    snapshot_month_ends,
    ticket_conditions,
    tier_condition,
    whole_months,
)
from metrics.rollups import TIER_CODES, month_end_column, tier_code_sql, tier_name_sql
from metrics.settings import DEFAULT_BOUNDARIES, MetricSettings

CUSTOMER_COLUMNS = {d: f"s.{d}" for d in CUSTOMER_DIMENSIONS}


def fact_columns(alias: str, extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Dimension -> column on a fact table that carries the customer's attributes; tier comes from the tier join."""
    return {**{d: f"{alias}.{d}" for d in (*CUSTOMER_DIMENSIONS, *extra) if d != "tier"}, "tier": "tr.tier"}


TICKET_COLUMNS = fact_columns("t", TICKET_DIMENSIONS)


def fact_aggregate(con, f: Filters, by, settings, p: Params, measures: str, fact: str, alias: str,
                   time_column: str | None, window: str, columns: dict[str, str], where: str = "true",
                   tier_in_fact: str | None = None, having: str = "",
                   rollup_tier: RollupTier | None = None, sets: tuple[tuple[str, ...], ...] = ()) -> pd.DataFrame:
    """Aggregate a fact table that carries customer attributes, so filters need no join with customers.
    Tiers are joined as of the window's end, or each period's end under a time grain (breakdown_tier_date), unless
    the table carries them: `tier_in_fact`, an expression over its rows giving the tiers the query needs (a roll-up
    row's tier for the tier date, or ticket_facts' month_tier), chosen for that, or `rollup_tier` (a one-copy
    roll-up's, rollup_tier_sql: grouped and filtered by its code). `having` (a condition on the aggregates) applies
    only when there are groups. `sets`: group by each of these subsets of `by` at once (Grouping.sets)."""
    g, join, conditions = fact_scope(p, f, by, settings, alias, time_column, columns, tier_in_fact, rollup_tier, sets)
    sql = f"""
        SELECT {g.select}{measures}
        FROM {fact} {alias} {join}
        WHERE {window} AND {conditions} AND {where}
        {g.group} {f'HAVING {having}' if having and by else ''} {g.order}"""
    return run(con, sql, p)


def fact_scope(p: Params, f: Filters, by, settings: MetricSettings, alias: str, time_column: str | None,
               columns: dict[str, str], tier_in_fact: str | None = None,
               rollup_tier: RollupTier | None = None,
               sets: tuple[tuple[str, ...], ...] = ()) -> tuple[Grouping, str, str]:
    """How fact_aggregate reads a fact's rows for `f` and `by`: the grouping, the JOIN clause (the tier join, when
    the rows do not carry the tiers the query needs) and the customer filters and tier filter."""
    if rollup_tier is not None:
        tier_in_fact = rollup_tier.tier
    g = Grouping(tuple(by), time_column, {**columns, "tier": tier_in_fact} if tier_in_fact else columns,
                 {"tier": rollup_tier.code} if rollup_tier is not None else {}, sets)
    if tier_in_fact:
        tiers = rollup_tier.condition if rollup_tier is not None else tier_condition(p, f, tier_in_fact)
        return g, "", f"{customer_conditions(p, f, alias)} AND {tiers}"
    join, conditions = fact_filters(p, f, settings, alias, "tier" in by, g)
    return g, join, conditions


def grain_of(by) -> str | None:
    return next((d for d in by if d in TIME_GRAINS), None)


def uses_tiers(f: Filters, by) -> bool:
    return "tier" in by or f.tiers is not None


@dataclass(frozen=True)
class RollupTier:
    """How a query reads tiers from a one-copy roll-up's rows (metrics.rollups: `month` and `tier_codes`): `tier`, the
    tier as the query needs it, `code`, its code (what a breakdown by tier groups by), `condition`, the tier filter
    on the codes."""

    tier: str
    code: str
    condition: str


def rollup_tier_sql(p: Params, f: Filters, by, settings: MetricSettings, month_column: str) -> RollupTier | None:
    """The tier a query needs (breakdown_tier_date: the window's end, or each period's end) of a one-copy roll-up's
    row, or None when the roll-ups cannot answer: every customer dimension used kept in roll-ups, no week grain, and
    with tiers the default boundaries, a snapshot at each tier date and no tier date more than
    ROLLUP_HORIZON_MONTHS - 1 month ends after a month of the window (the codes kept). Without tiers any window of
    whole months answers."""
    if not settings.rollups or not rollups_answer(f, by) or "week" in by:
        return None
    if not uses_tiers(f, by):
        return RollupTier("CAST(NULL AS VARCHAR)", "0", "true")
    if settings.tiers != DEFAULT_BOUNDARIES:
        return None
    date = breakdown_tier_date(p, f, tuple(by), month_column)
    first = f.start.replace(day=1)
    if grain_of(by) is None and (f.end.year - first.year) * 12 + f.end.month - first.month + 1 > ROLLUP_HORIZON_MONTHS:
        return None
    days = sorted({month_end(day) for day in date.dates})
    if snapshot_month_ends(p.con, days) != set(days):
        return None
    alias = month_column.split(".")[0]
    code = tier_code_sql(f"{alias}.tier_codes", f"date_diff('month', {month_column}, last_day({date.sql}))")
    condition = "true" if f.tiers is None else f"list_contains({p([TIER_CODES[t] for t in f.tiers])}, {code})"
    return RollupTier(tier_name_sql(code), code, condition)


def billing_aggregate(con, f, by, settings, measures: str, p: Params | None = None):
    """Sums over bills (measures must be sums of b.amount_billed, b.amount_paid, b.consumption_kwh), with tiers as of
    the window's end or each period's end: from billing_months where it answers (rollup_tier_sql; bills are counted
    by month, so every window is whole months of bills), else from the bills."""
    p = p or Params(con)
    if not loaded_inputs(con).covers("billing", f.start, f.end):
        # No bill in the window (one before the bills begin, such as the year before a previous period's): the sums
        # over no rows, without working out anyone's tier for it.
        return fact_aggregate(con, f, by, settings, p, measures, "billing_facts", "b", "b.period", "false",
                              fact_columns("b"), tier_in_fact="CAST(NULL AS VARCHAR)")
    tier = rollup_tier_sql(p, f, by, settings, "b.month")
    if tier is not None:
        return fact_aggregate(con, f, by, settings, p, measures, month_rollup("billing", f, by), "b", "b.month",
                              month_between(p, "b.month", f), fact_columns("b"), rollup_tier=tier)
    return fact_aggregate(con, f, by, settings, p, measures, "billing_facts", "b", "b.period",
                          month_between(p, "b.period", f), fact_columns("b"))


# Each additive part of a ticket metric, per ticket: the one definition of what ticket metrics count. The roll-up
# ticket_months holds their sums; the row-level path computes them per ticket (ticket_parts_select) and applies the
# same measures. Arrival times are in whole seconds, so the sums are exact.
TICKET_PARTS = {
    "tickets": "1",
    "resolved_first_contact": ("CAST({t}.resolved_at IS NOT NULL AND coalesce({t}.first_contact_resolution, false) "
                               "AS INTEGER)"),
    "resolved_with_fcr_flag": ("CAST({t}.resolved_at IS NOT NULL AND {t}.first_contact_resolution IS NOT NULL "
                               "AS INTEGER)"),
    "resolved_reopened": "CAST({t}.resolved_at IS NOT NULL AND coalesce({t}.reopened, false) AS INTEGER)",
    "resolved_with_reopened_flag": "CAST({t}.resolved_at IS NOT NULL AND {t}.reopened IS NOT NULL AS INTEGER)",
    "arrival_seconds": "date_diff('second', {t}.created_at, {t}.arrived_at)",
    "arrivals": "CAST({t}.arrived_at IS NOT NULL AS INTEGER)",
    "substantiated": "CAST(coalesce({t}.substantiated, false) AS INTEGER)",
    "with_substantiated_flag": "CAST({t}.substantiated IS NOT NULL AS INTEGER)",
    "satisfaction_sum": "{t}.satisfaction",
    "satisfaction_scores": "CAST({t}.satisfaction IS NOT NULL AS INTEGER)",
}


def ticket_parts_select(alias: str) -> str:
    return ", ".join(f"{sql.format(t=alias)} AS {name}" for name, sql in TICKET_PARTS.items())


# The backlog (SPEC 5.4): tickets created before a cut-off (the midnight after a day) and not resolved before it. The
# one definition, used on ticket_facts (the row-level path) and on ticket_backlog, the tickets that are in the backlog
# at the end of some day, stored at load (metrics.rollups.build_ticket_backlog) in the order they leave it: a cut-off
# then reads only the row groups of tickets still open at it (the last month end's backlog: the table's tail), where
# ticket_facts, in created_at order, has to be read up to the cut-off whole.
BACKLOG = "{t}.created_at < {cutoff} AND ({t}.resolved_at IS NULL OR {t}.resolved_at >= {cutoff})"
# A ticket is in the backlog at the end of day E when created on or before E and not resolved by E's end: for some E
# exactly when it is unresolved or resolved on a later day than it was created.
EVER_IN_BACKLOG = "{t}.resolved_at IS NULL OR CAST({t}.resolved_at AS DATE) > CAST({t}.created_at AS DATE)"
# What a backlog query reads: the customer (tier joins), the attributes filters and breakdowns use, the two times.
BACKLOG_COLUMNS = ("customer_key", *CUSTOMER_ATTRIBUTES, *TICKET_DIMENSIONS, "created_at", "resolved_at")
BACKLOG_ORDER = "resolved_at NULLS LAST, created_at"


def backlog_source(settings: MetricSettings) -> str:
    """The table a backlog query reads: ticket_backlog when the tables built at load are used, else ticket_facts."""
    return "ticket_backlog" if settings.rollups else "ticket_facts"


@dataclass(frozen=True)
class TicketRollup:
    """A ticket metric as measures over ticket parts (alias t; TICKET_PARTS, the ticket's attributes, and
    sla_met_month / sla_breached_month, when the SLA outcome became known: a month in ticket_months, the exact time
    per ticket), `where` a condition on a ticket's attributes, `having` one on the groups' parts. The measures compare
    sla_met_month and sla_breached_month with nothing but the window's cut-off (sla_cutoff), or test them for null:
    ticket_parts_together keeps them only as before the cut-off, on or after it, or null."""

    measures: str
    where: str = "true"
    having: str = ""
    # Whether the ticket-type filter applies (not to complaint figures: a complaint is one whatever types are chosen).
    ticket_types: bool = True
    # Whether the metric is the measures' numerator / denominator (ratio); else the measures give its value.
    is_ratio: bool = False


def ticket_parts_figure(con, f: Filters, by, settings: MetricSettings, rollup: TicketRollup,
                        p: Params | None = None) -> pd.DataFrame:
    """A ticket metric declared as a TicketRollup: its measures over the window's tickets, and the ratio of them when
    it is one. Over whole months a ticket roll-up answers (ticket_aggregate, month_rollup); over any other window its
    whole months come from one and the rest ticket by ticket (ticket_parts_together, as for several metrics at once)."""
    p = p or Params(con)
    if whole_months(f) is None:
        together = ticket_parts_together(con, f, by, settings, p, {"figure": rollup})
        if together is not None:
            return together["figure"]
    frame = ticket_aggregate(con, f, by, settings, apply_ticket_types=rollup.ticket_types, p=p, rollup=rollup)
    return ratio(frame) if rollup.is_ratio else frame


def ticket_parts_metric(definition: str, rollup: TicketRollup) -> Callable[..., pd.DataFrame]:
    """The metric function of a ticket metric declared by its TicketRollup alone. `ticket_rollup` on it (as on any
    metric function over ticket parts: (Params, Filters, settings) -> its TicketRollup, or None where it is computed
    otherwise) lets compute_many compute several from one scan (ticket_parts_together)."""

    def metric(con, f, by, settings) -> pd.DataFrame:
        return ticket_parts_figure(con, f, by, settings, rollup)

    metric.__doc__ = definition
    metric.ticket_rollup = lambda p, f, settings: rollup  # type: ignore[attr-defined]  # read by compute_many
    return metric


def sla_cutoff(p: Params, f: Filters) -> str:
    """The moment a window's SLA outcomes are counted at: the midnight after its last day."""
    return f"({p(f.end)}::DATE + INTERVAL 1 DAY)"


def ticket_parts_rows(p: Params, f: Filters, pieces: tuple[tuple[str, str], ...] = (("ticket_facts", "true"),)) -> str:
    """The window's tickets, each with its parts (TICKET_PARTS) and its SLA outcome times under the names the
    roll-up's months have (sla_met_month, sla_breached_month): what measures over ticket parts read ticket by
    ticket. `pieces`: (table with ticket_facts' columns, condition on them) whose rows in the window are read, one
    after another (disjoint sets of tickets). The flag `substantiated` is left out: its part of the same name (0/1)
    takes its place."""
    return "(" + " UNION ALL ".join(
        f"SELECT t.* EXCLUDE (substantiated), t.sla_met_after AS sla_met_month, t.sla_breached_after AS "
        f"sla_breached_month, {ticket_parts_select('t')} FROM {table} t "
        f"WHERE {between(p, 't.created_at', f)} AND ({where})" for table, where in pieces) + ")"


# A ticket whose SLA outcome became known in a later month than the one it was created in (a few percent of them):
# ticket_late_outcomes holds them (metrics.rollups.build_ticket_late_outcomes). Of a window's whole months, only
# such tickets can have become known in the month a mid-month cut-off falls in, after those months.
LATE_OUTCOME = ("date_trunc('month', {t}.sla_met_after) > date_trunc('month', {t}.created_at) OR "
                "date_trunc('month', {t}.sla_breached_after) > date_trunc('month', {t}.created_at)")


def ticket_parts_sources(p: Params, f: Filters, by, settings: MetricSettings) -> list[tuple[str, Grouping]]:
    """FROM ... WHERE ... of the rows a ticket metric's measures read for `f` (the customer filters and tiers applied,
    not the ticket conditions), and how to group them by `by`, as ticket_aggregate reads them (fact_scope), in one or
    more sets of rows whose sums add up to the window's: a ticket roll-up where it answers (ticket_rollup, the
    smallest that keeps the query's attributes: month_rollup); for a window starting or ending mid-month, its whole
    months from one where it answers them (rollup_tier_sql, the
    tiers as of the window's end or each month's) and the rest ticket by ticket; else each ticket's parts
    (ticket_parts_rows).

    The roll-up keeps the month an SLA outcome became known, and the measures compare it with the window's cut-off
    (sla_cutoff) only. A month before the cut-off's month is before it, a later one after it; only outcomes known in
    the cut-off's own month, when the cut-off falls inside one (a window ending mid-month), cannot be told from the
    month: those tickets of the whole months are read ticket by ticket too (from ticket_late_outcomes, which holds
    every ticket known in a later month than its own), and left out of the months' rows."""
    found = ticket_rollup(p, f, by, settings)
    if found is not None:
        table, tier = found
        g, _join, conditions = fact_scope(p, f, by, settings, "t", "t.month", TICKET_COLUMNS, rollup_tier=tier)
        return [(f"FROM {table} t WHERE {month_between(p, 't.month', f)} AND {conditions}", g)]
    sources = []
    pieces: tuple[tuple[str, str], ...] = (("ticket_facts", "true"),)  # with whole months from a roll-up: the rest
    inner = inner_months(f)
    inner_tier = rollup_tier_sql(p, f, by, settings, "t.month") if inner is not None else None
    if inner is not None and inner_tier is not None:
        first, last = inner
        g, _join, conditions = fact_scope(p, f, by, settings, "t", "t.month", TICKET_COLUMNS, rollup_tier=inner_tier)
        known_in, known_in_rows = "false", "false"
        cut = f.end + dt.timedelta(days=1)
        if cut.day != 1:  # the cut-off falls inside a month: that month's outcomes are read ticket by ticket
            month, after = cut.replace(day=1), month_end(cut) + dt.timedelta(days=1)
            known_in = " OR ".join(f"coalesce(t.{c} = {p(month)}::DATE, false)"
                                   for c in ("sla_met_month", "sla_breached_month"))
            known_in_rows = " OR ".join(f"(t.{c} >= {p(month)}::DATE AND t.{c} < {p(after)}::DATE)"
                                        for c in ("sla_met_after", "sla_breached_after"))
        sources.append((f"FROM {month_rollup('tickets', f, by)} t "
                        f"WHERE {month_between(p, 't.month', f.window(first, last))} "
                        f"AND {conditions} AND NOT ({known_in})", g))
        # the days before and after the whole months, each a range of ticket_facts' rows (read apart, each prunes),
        # and of the whole months' tickets those known in the cut-off's month, all of them late (LATE_OUTCOME)
        pieces = ((("ticket_facts", f"t.created_at < {p(first)}::DATE"),) if f.start < first else ()) + (
            (("ticket_facts", f"t.created_at >= {p(last)}::DATE + INTERVAL 1 DAY"),) if last < f.end else ()) + (
            (("ticket_late_outcomes", f"t.created_at >= {p(first)}::DATE AND t.created_at < {p(last)}::DATE + "
                                      f"INTERVAL 1 DAY AND ({known_in_rows})"),) if known_in_rows != "false" else ())
    g, join, conditions = fact_scope(p, f, by, settings, "t", "t.created_at", TICKET_COLUMNS,
                                     "t.month_tier" if month_tiers_answer(p, f, by, settings) else None)
    if pieces:
        sources.append((f"FROM {ticket_parts_rows(p, f, pieces)} t {join} WHERE {conditions}", g))
    return sources


def ticket_parts_together(con: duckdb.DuckDBPyConnection, f: Filters, by, settings: MetricSettings, p: Params,
                          rollups: dict[str, TicketRollup]) -> dict[str, pd.DataFrame] | None:
    """Several ticket metrics' frames (metric id -> what ticket_parts_figure gives), their rows read once (the sets
    of rows ticket_parts_sources gives: the window's rows of a ticket roll-up, or over a window starting or ending
    mid-month its whole months' rows and the rest of its tickets' parts), filtered and grouped as every metric's own
    query would, summed per group, per the metrics' row conditions (ticket types, `where`) and per SLA outcome
    (before the cut-off, on or after it, none) into a temporary table; each metric's measures then run over that
    table. The measures are sums of the parts, so the sums of the sums are theirs exactly. None when the tables
    built at load are not used (the row-level reference path computes each metric alone) or a measure is not a sum
    of rows (count)."""
    if not settings.rollups or any("count(" in rollup.measures.lower() or "count(" in rollup.having.lower()
                                   for rollup in rollups.values()):
        return None
    by = tuple(by)
    sources = ticket_parts_sources(p, f, by, settings)
    conditions = {metric: f"{ticket_conditions(p, f, 't', rollup.ticket_types)} AND {rollup.where}"
                  for metric, rollup in rollups.items()}
    flags = {condition: f"keep_{i}" for i, condition in enumerate(dict.fromkeys(conditions.values()))}
    cutoff = sla_cutoff(p, f)
    outcomes = {column: f"CASE WHEN t.{column} IS NULL THEN NULL WHEN t.{column} < {cutoff} "
                        f"THEN {cutoff} - INTERVAL 1 DAY ELSE {cutoff} END"
                for column in ("sla_met_month", "sla_breached_month")}
    name = f"ticket_parts_{uuid.uuid4().hex}"
    # Each set of rows summed per group alone, the sets one after another: a group may have a row from each, and the
    # measures over the table sum them again.
    summed = f"CREATE TEMP TABLE {name} AS " + " UNION ALL ".join(f"""
        SELECT {g.select}{''.join(f'({condition}) AS {flag}, ' for condition, flag in flags.items())}
               {', '.join(f'{outcome} AS {column}' for column, outcome in outcomes.items())},
               {', '.join(f'sum(t.{part}) AS {part}' for part in TICKET_PARTS)}
        {source} AND ({' OR '.join(f'({condition})' for condition in flags)})
        GROUP BY {', '.join([*(g.grouped.get(d, g.expr(d)) for d in by), *flags, *outcomes.values()])}"""
        for source, g in sources)
    out: dict[str, pd.DataFrame] = {}
    with con.cursor() as cursor:  # its own connection: the temporary table is seen by this cursor alone
        cursor.execute(summed, p.used_in(summed))
        try:
            for metric, rollup in rollups.items():
                columns = "".join(f"t.{d} AS {d}, " for d in by)
                sql = f"""
                    SELECT {columns}{rollup.measures} FROM {name} t WHERE t.{flags[conditions[metric]]}
                    {f"GROUP BY {', '.join(f't.{d}' for d in by)}" if by else ''}
                    {f'HAVING {rollup.having}' if rollup.having and by else ''}
                    {f"ORDER BY {', '.join(by)}" if by else ''}"""
                frame = run_on(cursor, sql, p)
                out[metric] = ratio(frame) if rollup.is_ratio else frame
        finally:
            cursor.execute(f"DROP TABLE {name}")
    return out


def total(column: str) -> str:
    """A count summed over roll-up rows, zero when there are none (as count(*) gives)."""
    return f"CAST(coalesce(sum(t.{column}), 0) AS BIGINT)"


def ticket_rollup(p: Params, f: Filters, by, settings: MetricSettings) -> tuple[str, RollupTier] | None:
    """(table, how the query reads its rows' tiers) of the ticket roll-up holding a query's tickets
    (rollup_tier_sql), over a window of whole months, if it does."""
    if whole_months(f) is None:
        return None
    tier = rollup_tier_sql(p, f, by, settings, "t.month")
    return None if tier is None else (month_rollup("tickets", f, by), tier)


def month_tiers_answer(p: Params, f: Filters, by, settings: MetricSettings) -> bool:
    """Whether ticket_facts' `month_tier` (each ticket's customer's tier as of the end of the month it was created in,
    stored at load) is the tier a query needs (breakdown_tier_date): with tiers, by month or over a window inside one
    month, under the default boundaries, every month of the window having a snapshot. Tiers are the same on every day
    of a month (tiers_sql), so a month's own end, clipped to the window's, gives that month's tiers."""
    if not settings.rollups or not uses_tiers(f, by) or settings.tiers != DEFAULT_BOUNDARIES:
        return False
    if grain_of(by) != "month" and month_end(f.start) != month_end(f.end):
        return False
    months = [month_end(label) for label, _start, _end in periods(f.start, f.end, "month")]
    return snapshot_month_ends(p.con, months) == set(months)


def ticket_aggregate(con, f, by, settings, measures: str = "", where: str = "true", apply_ticket_types: bool = True,
                     p: Params | None = None, rollup: TicketRollup | None = None, having: str = "",
                     sets: tuple[tuple[str, ...], ...] = ()):
    """Aggregates over tickets created in the window, tiers as of the window's end or each period's end. With
    `rollup` (a metric over additive parts), from the ticket roll-up where it answers the query, else the same
    measures over each ticket's parts; otherwise `measures` over ticket_facts rows (quantiles), grouped by each of
    `sets` at once when given (subsets of `by` that read the same rows: same_rows_for)."""
    p = p or Params(con)
    types = ticket_conditions(p, f, "t", apply_ticket_types)
    found = ticket_rollup(p, f, by, settings) if rollup is not None else None
    if found is not None and rollup is not None:
        table, tier = found
        return fact_aggregate(con, f, by, settings, p, rollup.measures, table, "t", "t.month",
                              month_between(p, "t.month", f), TICKET_COLUMNS, f"{types} AND {rollup.where}",
                              rollup_tier=tier, having=rollup.having)
    fact = "ticket_facts"
    if rollup is not None:
        measures, where, having = rollup.measures, rollup.where, rollup.having
        fact = ticket_parts_rows(p, f)
    return fact_aggregate(con, f, by, settings, p, measures, fact, "t", "t.created_at",
                          between(p, "t.created_at", f), TICKET_COLUMNS, f"{types} AND {where}", having=having,
                          tier_in_fact="t.month_tier" if month_tiers_answer(p, f, by, settings) else None, sets=sets)


def same_rows_for(bys) -> bool:
    """Whether a fact query under each of these `by`s reads the same rows with the same tiers (fact_scope), so that
    one query can group them by each (GROUPING SETS): none has a time grain (tiers as of each period's end) and all
    or none break down by tier."""
    return all(grain_of(by) is None for by in bys) and len({"tier" in by for by in bys}) <= 1


def inner_months(f: Filters) -> tuple[dt.date, dt.date] | None:
    """The first and last day of the whole calendar months inside a window that starts or ends mid-month; None for a
    window of whole months, or one with no whole month inside."""
    if whole_months(f) is not None:
        return None
    first = f.start if f.start.day == 1 else month_end(f.start) + dt.timedelta(days=1)
    last = f.end if month_end(f.end) == f.end else f.end.replace(day=1) - dt.timedelta(days=1)
    return (first, last) if first < last else None


def survey_aggregate(con, f, by, settings, measures: str, where: str = "true"):
    """Aggregates over surveys taken in the window, tiers as of the window's end or each period's end: survey_facts'
    month_tier (stored at load) where it is the tier the query needs (month_tiers_answer), else a join."""
    p = Params(con)
    return fact_aggregate(con, f, by, settings, p, measures, "survey_facts", "v", "v.surveyed_on",
                          between(p, "v.surveyed_on", f), fact_columns("v"), where,
                          tier_in_fact="v.month_tier" if month_tiers_answer(p, f, by, settings) else None)


@dataclass(frozen=True)
class MonthEndRollup:
    """Where a window metric's parts are counted at load per month end (metrics.rollups: visit_coverage,
    customer_counts, revenue_retention_months), tiers as of it: the table and the measures over its rows `r` and the
    window `w` (w.first_day and w.last_day, the window's first and last day); `scale` makes value = numerator /
    denominator. The table answers any run of whole months ending on a month end, or with `within_one_month` windows
    inside one calendar month (figures over bills, which count by month, with tiers that are the same all month: any
    such window is its month). The slice read is the window's end's, or with `cohort_base` the day's before the window
    starts (a cohort and its tiers as of that day, followed to the window's end). `having`, a condition on a group's
    measures, keeps the groups a row-level query would give when there are dimensions to group by. When none fits the
    metric computes the window itself."""

    table: str
    measures: str
    scale: float | None = None
    within_one_month: bool = False
    cohort_base: bool = False
    having: str = ""


def month_end_window_fits(p: Params, rollup: MonthEndRollup, windows: list[Filters], settings: MetricSettings,
                          f: Filters, by) -> list[tuple[dt.date, dt.date, dt.date] | None]:
    """For each window, (first day, month end of the slice read, last day) when the roll-up answers it, else None: it
    runs over whole months (or lies inside one month, MonthEndRollup.within_one_month), the slice's month end (the
    window's end, or with cohort_base the day before it starts) has a snapshot, only dimensions kept in roll-ups are
    used, and with tiers the default boundaries."""
    if not settings.rollups or not rollups_answer(f, by) or (uses_tiers(f, by) and
                                                             settings.tiers != DEFAULT_BOUNDARIES):
        return [None] * len(windows)

    def slice_day(w: Filters) -> dt.date | None:
        if rollup.within_one_month:
            return month_end(w.end) if month_end(w.start) == month_end(w.end) else None
        if whole_months(w) is None:
            return None
        return w.start - dt.timedelta(days=1) if rollup.cohort_base else w.end

    days = [slice_day(w) for w in windows]
    snapshots = snapshot_month_ends(p.con, [day for day in days if day is not None])
    return [(w.start, day, w.end) if day in snapshots else None for w, day in zip(windows, days)]


def month_end_windows(p: Params, rollup: MonthEndRollup, windows: list[Filters], settings: MetricSettings,
                      f: Filters, by) -> list[tuple[dt.date, dt.date, dt.date]] | None:
    """month_end_window_fits of every window when the roll-up answers them all, else None."""
    fits = month_end_window_fits(p, rollup, windows, settings, f, by)
    return None if any(fit is None for fit in fits) else [fit for fit in fits if fit is not None]


def month_end_aggregate(con, f: Filters, by, p: Params, rollup: MonthEndRollup,
                        windows: list[tuple[dt.date, dt.date, dt.date]], grain: str | None = None,
                        labels: list[dt.date] | None = None) -> pd.DataFrame:
    """The roll-up's rows for `windows` (month_end_windows), filtered by customer attributes and the roll-up's tier;
    with `grain`, one row per window labelled by its period's `labels` (a period's first day, which a window clipped
    to the filter's does not always start on)."""
    g = Grouping(tuple(by), None, {d: f"r.{d}" for d in CUSTOMER_DIMENSIONS})
    # Without other dimensions every window gets its row, as a single window's aggregate always has one.
    join = "LEFT JOIN" if not by else "JOIN"
    sql = f"""
        SELECT {f'w.label AS {grain}, ' if grain else ''}{g.select}{rollup.measures}
        FROM (SELECT unnest({p([day for _, day, _ in windows])}::DATE[]) AS as_of,
                     unnest({p([start for start, _, _ in windows])}::DATE[]) AS first_day,
                     unnest({p([end for _, _, end in windows])}::DATE[]) AS last_day,
                     unnest({p(labels or [day for _, day, _ in windows])}::DATE[]) AS label) w
        {join} {rollup.table} r ON r.as_of = w.as_of AND {rollup_conditions(p, f, 'r')}
        {'GROUP BY ' + ', '.join((['w.label'] if grain else []) + [g.expr(d) for d in by]) if grain or by else ''}
        {f'HAVING {rollup.having}' if rollup.having and by else ''}
        ORDER BY {', '.join(([grain] if grain else []) + list(by)) or 'ALL'}"""
    frame = run(con, sql, p)
    return ratio(frame, rollup.scale) if rollup.scale is not None else frame


def customer_aggregate(con, f, by, settings, measures: str, time_column: str, window: str, p: Params,
                       date: TierDate | None = None):
    """Aggregates over the customer scope itself (active, churned); `window` uses the scope alias s; tiers as of
    `date` (by default the window's end)."""
    g = Grouping(tuple(by), time_column, CUSTOMER_COLUMNS)
    sql = f"""
        WITH scope AS ({scope_sql(p, f, settings, with_tier='tier' in by, date=date)})
        SELECT {g.select}{measures} FROM scope s WHERE {window} {g.group} {g.order}"""
    return run(con, sql, p)


def ratio(frame: pd.DataFrame, scale: float = 1.0) -> pd.DataFrame:
    """value = numerator / denominator x scale; a zero or missing denominator gives null, never 0."""
    den = frame["denominator"].astype("float64")
    frame["value"] = (frame["numerator"].astype("float64") / den.where(den != 0)) * scale
    return frame


@dataclass(frozen=True)
class Ratio:
    """A figure that is the ratio of two sums over the rows of the customers in scope: value = numerator /
    denominator x scale + offset, null where the denominator is 0 or missing (`ratio`, which plain shares call
    directly: SHARE.of is ratio(frame)). Where the catalogue declares it (Metric.parts), the figure of a set of regions
    follows from that metric's figures by region, their numerators and denominators summed
    (metrics.catalogue.from_regions; tests/test_from_regions.py checks each declaration against its metric)."""

    scale: float = 1.0
    offset: float = 0.0

    def of(self, frame: pd.DataFrame) -> pd.DataFrame:
        frame = ratio(frame, self.scale)
        if self.offset:
            frame["value"] = frame["value"] + self.offset
        return frame


SHARE = Ratio()  # a share or rate: numerator / denominator


def per_period(compute: Callable[..., pd.DataFrame] | None = None, *, rollup: MonthEndRollup | None = None,
               groups_by_time: bool = False):
    """For window metrics (stocks, retention, year-on-year): a time grain in `by` evaluates the metric on each
    period's own window, clipped to the filter's window, tiers included (each period's as of its own end, or its
    cohort's base). With `rollup`, windows of whole months ending on a month end are read from that roll-up, all such
    periods in one query. With `groups_by_time` the metric groups its parts by the grain
    itself (their tiers are each period's, breakdown_tier_date), giving the same numbers in fewer queries."""

    def decorate(compute: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
        def one_window(con, f: Filters, by: tuple[str, ...], settings: MetricSettings) -> pd.DataFrame:
            if rollup is not None:
                p = Params(con)
                windows = month_end_windows(p, rollup, [f], settings, f, by)
                if windows is not None:
                    return month_end_aggregate(con, f, by, p, rollup, windows)
            return compute(con, f, by, settings)

        def wrapped(con: duckdb.DuckDBPyConnection, f: Filters, by: tuple[str, ...], settings: MetricSettings):
            grain = grain_of(by)
            if grain is None:
                return one_window(con, f, by, settings)
            if groups_by_time:
                return compute(con, f, by, settings)
            rest = tuple(d for d in by if d != grain)
            spans = periods(f.start, f.end, grain)
            fits: list[tuple[dt.date, dt.date, dt.date] | None] = [None] * len(spans)
            frames = []
            if rollup is not None:
                # The periods the roll-up answers in one query (a window starting or ending mid-month leaves its
                # first or last period to the metric itself).
                p = Params(con)
                fits = month_end_window_fits(p, rollup, [f.window(start, end) for _, start, end in spans], settings,
                                             f, by)
                answered = [(label, fit) for (label, _, _), fit in zip(spans, fits) if fit is not None]
                if answered:
                    frames.append(month_end_aggregate(con, f, rest, p, rollup, [fit for _, fit in answered], grain,
                                                      [label for label, _ in answered]))
            for (label, start, end), fit in zip(spans, fits):
                if fit is None:
                    frame = compute(con, f.window(start, end), rest, settings)
                    frame.insert(0, grain, label)
                    frames.append(frame)
            out = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True).sort_values(
                grain, kind="stable", ignore_index=True)
            return out[[*by, *[c for c in out.columns if c not in by]]]

        wrapped.__doc__ = compute.__doc__
        wrapped.__name__ = compute.__name__
        wrapped.per_period = True  # type: ignore[attr-defined]  # a marker on the function; a time grain gives each period on its own window, tiers as of its own end
        return wrapped

    return decorate(compute) if compute is not None else decorate


def _month_before(day: dt.date) -> dt.date:
    return day.replace(day=1) - dt.timedelta(days=1)


def window_revenue_sql(p: Params, f: Filters, settings: MetricSettings, by=(), tier_day: dt.date | None = None,
                       also: dict[str, Filters] | None = None) -> str | None:
    """customer_key, customer_id, the customer attributes, `tier` (as of tier_day, by default the window's end) and
    `revenue`, each customer's bills over the window's months, for the customers the filters select, from the
    running totals stored per customer and month end (customer_month_ends, a column per month end of
    tier_snapshots.cumulative_billed: a cumulative measure, the revenue of months first..m is cum(end of m) -
    cum(end of the month before first)); with `also` (name -> window), each customer's revenue in those windows too,
    in columns of those names, from the same row; a window ending before the first bill's month is revenue 0 for all.
    None when they cannot answer exactly: rollups off, a dimension not kept there, a time grain, tiers under other
    boundaries, a month end without a snapshot, or a negative bill (running totals are exact differences only over
    amounts >= 0)."""
    if not settings.rollups or not rollups_answer(f, by) or grain_of(by) is not None:
        return None
    if uses_tiers(f, by) and settings.tiers != DEFAULT_BOUNDARIES:
        return None
    if p.con is None:
        return None  # no warehouse to read the running totals from: the row-level path answers
    windows = {"revenue": f, **(also or {})}
    ends = {name: (month_end(w.end), _month_before(w.start)) for name, w in windows.items()}
    tier_at = month_end(tier_day or f.end)
    with p.con.cursor() as cursor:
        exact, first = cursor.execute("SELECT exact, first_as_of FROM cumulative_billing").fetchall()[0]
    known = snapshot_month_ends(p.con, [tier_at, *(day for pair in ends.values() for day in pair)])
    if not exact or (uses_tiers(f, by) and tier_at not in known):
        return None
    revenues = []
    for name, (end, before) in ends.items():
        if first is not None and end < first:  # the window ends before the first bill: no customer has revenue in it
            revenues.append(f"CAST(0 AS DOUBLE) AS {name}")
            continue
        if end not in known or (before not in known and before >= first):
            return None
        spent = f"coalesce(c.{month_end_column('billed_to', before)}, 0)" if before in known else "0"
        revenues.append(f"c.{month_end_column('billed_to', end)} - {spent} AS {name}")
    tier = f"c.{month_end_column('tier', tier_at)}" if uses_tiers(f, by) else None
    return f"""
        SELECT c.customer_key, c.customer_id, {', '.join(f'c.{a}' for a in CUSTOMER_ATTRIBUTES)},
               {tier or 'CAST(NULL AS VARCHAR)'} AS tier, {', '.join(revenues)}
        FROM customer_month_ends c
        WHERE {customer_conditions(p, f, 'c')} AND {tier_condition(p, f, tier) if tier else 'true'}"""
