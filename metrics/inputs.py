"""What the loaded data can answer (SPEC 5.7): the tables and canonical columns some loaded source had
(`source_columns`, recorded by every load) and the days each fact table covers (`fact_coverage`, built with the
query model). A figure whose inputs no source has, or whose window lies outside the days its facts cover, is
"no data": null, never 0 and never on target."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

# fact table -> SQL for the first and last day its rows cover (bills cover their whole month)
COVERED_DAYS = {
    "billing": ("min(period)", "CAST(max(period) + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE)"),
    "tickets": ("CAST(min(created_at) AS DATE)", "CAST(max(created_at) AS DATE)"),
    "surveys": ("min(surveyed_on)", "max(surveyed_on)"),
    "visits": ("min(visited_on)", "max(visited_on)"),
    "staff_training": ("min(trained_on)", "max(trained_on)"),
}


def fact_coverage_sql() -> str:
    """SELECT table_name, first_day, last_day for every fact table with rows. Run at load to build `fact_coverage`."""
    return " UNION ALL ".join(f"SELECT '{table}' AS table_name, {first} AS first_day, {last} AS last_day FROM {table} "
                              f"HAVING count(*) > 0" for table, (first, last) in COVERED_DAYS.items())


@dataclass(frozen=True)
class LoadedInputs:
    """`present`: "table" for every table some source held and "table.column" for every column some source had;
    `coverage`: fact table -> (first day, last day) its rows cover."""

    present: frozenset[str]
    coverage: dict[str, tuple[dt.date, dt.date]]

    def absent(self, needs: tuple[str, ...]) -> list[str]:
        """Those of the needed tables and "table.column"s that no loaded source has."""
        return [need for need in needs if need not in self.present]

    def covers(self, table: str, start: dt.date, end: dt.date) -> bool:
        """Whether the days from start to end overlap the days the table's rows cover."""
        span = self.coverage.get(table)
        return span is not None and start <= span[1] and end >= span[0]

    def covers_wholly(self, table: str, start: dt.date, end: dt.date) -> bool:
        """Whether every day from start to end lies inside the days the table's rows cover."""
        span = self.coverage.get(table)
        return span is not None and span[0] <= start and end <= span[1]


def loaded_inputs(con: duckdb.DuckDBPyConnection) -> LoadedInputs:
    """What the warehouse's sources had (two small tables, one query)."""
    with con.cursor() as cursor:
        rows = cursor.execute("""
            SELECT table_name, column_name, NULL AS first_day, NULL AS last_day FROM source_columns
            UNION ALL SELECT table_name, NULL, first_day, last_day FROM fact_coverage""").fetchall()
    present = {t for t, c, _, _ in rows if c is not None} | {f"{t}.{c}" for t, c, _, _ in rows if c is not None}
    coverage = {t: (first, last) for t, c, first, last in rows if c is None}
    return LoadedInputs(frozenset(present), coverage)
