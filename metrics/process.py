"""Internal process perspective (SPEC 5.4): volumes, backlog, response and resolution times, SLA compliance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from metrics.facts import (
    BACKLOG,
    TICKET_COLUMNS,
    TicketRollup,
    backlog_source,
    fact_aggregate,
    per_period,
    ratio,
    same_rows_for,
    sla_cutoff,
    ticket_aggregate,
    ticket_parts_figure,
    ticket_parts_metric,
    total,
)
from metrics.filters import Filters
from metrics.inputs import LoadedInputs, loaded_inputs
from metrics.query import Grouping, Params, between, fact_filters, grouping_set_id, run, ticket_conditions
from metrics.settings import DEFAULT_SETTINGS, DEFAULT_SLA, MetricSettings, SlaTargets

tickets = ticket_parts_metric("Tickets created in the window.", TicketRollup(f"{total('tickets')} AS value"))


@per_period
def backlog(con, f, by, settings) -> pd.DataFrame:
    """Tickets created on or before end and not resolved by the end of that day."""
    p = Params(con)
    cutoff = f"({p(f.end)}::DATE + INTERVAL 1 DAY)"
    return fact_aggregate(con, f, by, settings, p, "count(*) AS value", backlog_source(settings), "t", None,
                          BACKLOG.format(t="t", cutoff=cutoff), TICKET_COLUMNS, ticket_conditions(p, f))


@dataclass(frozen=True)
class Quantile:
    """A duration's continuous quantile `q` (DuckDB's quantile_cont) over the tickets created in the window."""

    column: Literal["response_hours", "resolution_hours"]
    q: float

    def __post_init__(self) -> None:  # both go into SQL text: a duration column of ticket_facts, a fraction
        if self.column not in ("response_hours", "resolution_hours") or not 0 <= float(self.q) <= 1:
            raise ValueError(f"no such duration quantile: {self.column} at {self.q}")

    @property
    def seconds(self) -> str:
        """The ticket_facts column holding the duration as whole seconds (response_seconds, resolution_seconds)."""
        return self.column.removesuffix("_hours") + "_seconds"


def duration_quantiles(con, f, by, settings, wanted: Sequence[Quantile]) -> list[pd.DataFrame]:
    """Each wanted quantile's frame (the `by` columns and value; null where a group has no value), all from one scan
    of the window's tickets: per duration, one quantile_cont over the list of its wanted fractions, indexed once per
    fraction (DuckDB computes the list once: the median and p90 of a duration cost what one of them does).
    Nothing is kept between calls: the same connection can see other rows next time (st.cache_data caches the
    app's)."""
    return duration_quantiles_by(con, f, (tuple(by),), settings, wanted)[tuple(by)]


def duration_quantiles_by(con, f, bys, settings,
                          wanted: Sequence[Quantile]) -> dict[tuple[str, ...], list[pd.DataFrame]]:
    """duration_quantiles under each of several `by`s (e.g. the whole scope and by region), from one scan grouping
    the window's tickets by each of them (GROUPING SETS) when they read the same rows (facts.same_rows_for), else
    one query each. Each group's values are the same values either way, so each quantile is too (measured at 1 M
    customers over 24 months, the whole scope's median and the regions' 0.42 s one after another, 0.32 s at once)."""
    bys = tuple(dict.fromkeys(tuple(by) for by in bys))
    if len(bys) > 1 and not same_rows_for(bys):
        return {by: duration_quantiles_by(con, f, (by,), settings, wanted)[by] for by in bys}
    # Over each duration's whole seconds (ticket_facts' <duration>_seconds, the hours' own numerator): integers
    # bit-pack to a third of the hours' doubles, so a fresh process reads a third of the bytes (a 24-month median at
    # 1 M customers 0.18-0.22 s to 0.13-0.15 s cold); the hours are the quantile / 3600.
    fractions: dict[str, list[float]] = {}
    for w in wanted:
        fractions.setdefault(w.column, [])
        if w.q not in fractions[w.column]:
            fractions[w.column].append(w.q)
    # column names come from the Quantile declarations (a fixed set), the fractions are numbers
    seconds: dict[str, str] = {w.column: w.seconds for w in wanted}
    names = {(column, q): f"{column}_{i}" for column, qs in fractions.items() for i, q in enumerate(qs)}
    measures = ", ".join(
        (f"quantile_cont(t.{seconds[column]}, {float(qs[0])!r}) / 3600.0 AS {column}_0" if len(qs) == 1 else
         ", ".join(f"quantile_cont(t.{seconds[column]}, [{', '.join(repr(float(q)) for q in qs)}])[{i + 1}] / 3600.0 "
                   f"AS {column}_{i}" for i in range(len(qs))))
        for column, qs in fractions.items())
    union = tuple(dict.fromkeys(d for by in bys for d in by))
    frame = ticket_aggregate(con, f, union, settings, measures, sets=bys if len(bys) > 1 else ())
    out = {}
    for by in bys:
        rows = frame if len(bys) == 1 else (
            frame[frame["grouping_set"] == grouping_set_id(union, by)].reset_index(drop=True))
        out[by] = [rows[[*by, names[(w.column, w.q)]]].rename(columns={names[(w.column, w.q)]: "value"})
                   .astype({"value": "float64"}) for w in wanted]
    return out


def _quantile(column: Literal["response_hours", "resolution_hours"], q: float):
    """The metric of one duration quantile; `quantile` on it lets the catalogue compute several in one query."""
    wanted = Quantile(column, q)

    def metric(con, f, by, settings) -> pd.DataFrame:
        return duration_quantiles(con, f, by, settings, (wanted,))[0]
    metric.quantile = wanted  # type: ignore[attr-defined]  # read by metrics.catalogue (Metric.quantile)
    return metric


median_response_hours = _quantile("response_hours", 0.5)
median_response_hours.__doc__ = "Median of first_response_at - created_at, in hours."
p90_response_hours = _quantile("response_hours", 0.9)
p90_response_hours.__doc__ = "90th percentile (continuous) of first_response_at - created_at, in hours."
median_resolution_hours = _quantile("resolution_hours", 0.5)
median_resolution_hours.__doc__ = "Median of resolved_at - created_at, in hours."
p90_resolution_hours = _quantile("resolution_hours", 0.9)
p90_resolution_hours.__doc__ = "90th percentile (continuous) of resolved_at - created_at, in hours."


repair_arrival_minutes = ticket_parts_metric(
    "Mean of arrived_at - created_at over repair tickets, in minutes.",
    TicketRollup("sum(t.arrival_seconds) / 60.0 / nullif(sum(t.arrivals), 0) AS value, "
                 f"sum(t.arrival_seconds) / 60.0 AS numerator, {total('arrivals')} AS denominator",
                 "t.ticket_type = 'repair'"))

first_contact_resolution = ticket_parts_metric(
    "Resolved tickets with the first-contact flag true / resolved tickets with the flag.",
    TicketRollup(f"{total('resolved_first_contact')} AS numerator, {total('resolved_with_fcr_flag')} AS denominator",
                 is_ratio=True))

reopen_rate = ticket_parts_metric(
    "Resolved tickets with the reopened flag true / resolved tickets with the flag.",
    TicketRollup(f"{total('resolved_reopened')} AS numerator, {total('resolved_with_reopened_flag')} AS denominator",
                 is_ratio=True))


# Each SLA step: the timestamp that completes it, its deadline column and the ticket types with a target for it.
SLA_STEPS = (("arrived_at", "arrival_deadline", ("repair",)),
             ("first_response_at", "response_deadline", ("complaint",)),
             ("resolved_at", "resolution_deadline", ("complaint", "inquiry", "billing", "connection")))


def measured_sla_steps(inputs: LoadedInputs) -> tuple[str, ...]:
    """The SLA steps (by the timestamp that completes them) some loaded source has the timestamp for: only those are
    governed (SPEC 5.7), so a step no export records is not counted as breached."""
    return tuple(done for done, _, _ in SLA_STEPS if f"tickets.{done}" in inputs.present)


def unmeasured_sla_steps(con, f: Filters | None = None, settings: MetricSettings = DEFAULT_SETTINGS) -> pd.DataFrame:
    """The SLA steps not governed because no loaded source has their timestamp: step, column and ticket types."""
    measured = measured_sla_steps(loaded_inputs(con))
    rows = [{"step": deadline.removesuffix("_deadline"), "column": done, "ticket_types": list(types)}
            for done, deadline, types in SLA_STEPS if done not in measured]
    return pd.DataFrame(rows, columns=["step", "column", "ticket_types"])


def sla_deadlines_sql(p: Params, sla: SlaTargets, measured: tuple[str, ...], alias: str = "t") -> str:
    """SELECT items giving each ticket's arrival, response and resolution deadlines (null where its type has no such
    target, or where the step is not `measured`). Also run at load time with the default targets to store them in
    ticket_facts."""
    t = alias
    arrival = sla.repair_arrival_minutes

    def after_hours(hours: str) -> str:
        return f"{t}.created_at + to_microseconds(CAST(3.6e9 * {hours} AS BIGINT))"

    working_days = (f"CASE WHEN {t}.voltage_kv <= {p(sla.low_voltage_max_kv)} "
                    f"THEN {p(sla.connection_working_days_low_voltage)} "
                    f"ELSE {p(sla.connection_working_days_high_voltage)} END")
    # end of the n-th working day after the day the ticket was created
    connection_deadline = f"""(SELECT CAST(due.day AS TIMESTAMP) + INTERVAL 1 DAY
        FROM calendar created JOIN calendar due ON due.workday_number = created.workday_number + {working_days}
                                               AND due.is_workday
        WHERE created.day = {t}.created_date)"""
    deadlines = {"arrival_deadline": f"""
        CASE WHEN {t}.ticket_type = 'repair' THEN {t}.created_at + to_microseconds(CAST(6e7 * CASE {t}.area
             WHEN 'rural' THEN {p(arrival.rural)} WHEN 'remote' THEN {p(arrival.remote)}
             ELSE {p(arrival.urban)} END AS BIGINT)) END""",
        "response_deadline": f"CASE WHEN {t}.ticket_type = 'complaint' "
                             f"THEN {after_hours(p(sla.complaint_response_hours))} END",
        "resolution_deadline": f"""CASE {t}.ticket_type
             WHEN 'complaint' THEN {after_hours(p(sla.complaint_resolution_hours))}
             WHEN 'inquiry' THEN {after_hours(p(sla.inquiry_resolution_hours))}
             WHEN 'billing' THEN {after_hours(p(sla.billing_resolution_hours))}
             WHEN 'connection' THEN {connection_deadline} END"""}
    return ", ".join(f"{deadlines[deadline] if done in measured else 'CAST(NULL AS TIMESTAMP)'} AS {deadline}"
                     for done, deadline, _ in SLA_STEPS)


def sla_settled_sql(alias: str = "t") -> str:
    """SELECT items giving when a ticket's SLA outcome becomes known, from its deadlines. A step is late once its
    deadline has passed without it being done in time, so at a cut-off T a ticket is *breached* if
    T > sla_breached_after (the earliest deadline of a step not done by it); *met* if T > sla_met_after (when the last
    step with a target was done, all in time; null when some step is or will be late); otherwise *pending*.
    A ticket whose type has no target has both null. Also run at load time to store them in ticket_facts."""
    t = alias
    late_deadlines = ", ".join(f"CASE WHEN {t}.{done} IS NULL OR {t}.{done} > {t}.{deadline} THEN {t}.{deadline} END"
                               for done, deadline, _ in SLA_STEPS)
    done_steps = ", ".join(f"CASE WHEN {t}.{deadline} IS NOT NULL THEN {t}.{done} END"
                           for done, deadline, _ in SLA_STEPS)
    return (f"least({late_deadlines}) AS sla_breached_after, "
            f"CASE WHEN least({late_deadlines}) IS NULL THEN greatest({done_steps}) END AS sla_met_after")


def sla_rollup(p: Params, f: Filters, settings: MetricSettings) -> TicketRollup | None:
    """SLA compliance over the ticket parts, where the outcome times stored at load answer (the default targets):
    per ticket in ticket_facts, and as the month they became known in the ticket roll-ups. Over whole months the
    cut-off is a month's first day, so "known before the cut-off" is "known in an earlier month"."""
    if not (settings.rollups and settings.sla == DEFAULT_SLA):
        return None
    as_of = sla_cutoff(p, f)
    return TicketRollup(
        f"CAST(coalesce(sum(t.tickets) FILTER (WHERE t.sla_met_month < {as_of}), 0) AS BIGINT) AS numerator, "
        f"CAST(coalesce(sum(t.tickets) FILTER (WHERE t.sla_met_month < {as_of} "
        f"OR t.sla_breached_month < {as_of}), 0) AS BIGINT) AS denominator",
        having="sum(t.tickets) FILTER (WHERE t.sla_met_month IS NOT NULL OR t.sla_breached_month IS NOT NULL) > 0",
        is_ratio=True)


def sla_compliance(con, f, by, settings) -> pd.DataFrame:
    """Tickets created in the window that met their target / those whose outcome is known at the end of `end`
    (met, or breached: a step done late, or not done with its deadline passed)."""
    p = Params(con)
    rollup = sla_rollup(p, f, settings)
    if rollup is not None:
        return ticket_parts_figure(con, f, by, settings, rollup, p)
    # Other targets (or no tables built at load): deadlines and outcome times worked out from the timestamps.
    as_of = sla_cutoff(p, f)
    # Tickets whose type has no target count in neither part; groups of only such tickets are left out. That test
    # sits in HAVING, not WHERE: a filter between the scan and a tier join stops DuckDB pushing the join's keys
    # into the scan (with a tier filter, 0.2 s a call instead of 0.03 s).
    measures = (f"count(*) FILTER (WHERE t.sla_met_after < {as_of}) AS numerator, "
                f"count(*) FILTER (WHERE t.sla_met_after < {as_of} OR t.sla_breached_after < {as_of}) AS denominator")
    targeted = "count(*) FILTER (WHERE t.sla_met_after IS NOT NULL OR t.sla_breached_after IS NOT NULL) > 0"
    g = Grouping(tuple(by), "t.created_at", TICKET_COLUMNS)
    join, customers = fact_filters(p, f, settings, "t", "tier" in by, g)
    stored = "arrival_deadline, response_deadline, resolution_deadline, sla_breached_after, sla_met_after"
    facts = f"""(SELECT *, {sla_settled_sql("d")}
                 FROM (SELECT t.* EXCLUDE ({stored}),
                              {sla_deadlines_sql(p, settings.sla, measured_sla_steps(loaded_inputs(con)), "t")}
                       FROM ticket_facts t) d)"""
    sql = f"""
        SELECT {g.select}{measures}
        FROM {facts} t {join}
        WHERE {between(p, 't.created_at', f)} AND {ticket_conditions(p, f)} AND {customers}
        {g.group} {f'HAVING {targeted}' if by else ''} {g.order}"""
    return ratio(run(con, sql, p))


sla_compliance.ticket_rollup = sla_rollup  # type: ignore[attr-defined]  # read by compute_many
