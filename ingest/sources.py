"""Which canonical columns the loaded sources had (SPEC 5.7): recorded by every load in `source_columns`, so the
metrics can tell a column no source has (no data) from one whose values are empty or false."""

from __future__ import annotations

import duckdb

from ingest.contracts import CONTRACTS

SOURCE_COLUMNS_DDL = "CREATE TABLE IF NOT EXISTS source_columns (table_name VARCHAR, column_name VARCHAR)"


def record_source_columns(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> None:
    """Note that a source of `table` had these canonical columns (an append adds to what earlier loads had, or, for
    a warehouse loaded before loads recorded their columns, to what its values show)."""
    ensure_source_columns(con)
    if not columns:
        return
    con.executemany("INSERT INTO source_columns SELECT $1, $2 WHERE NOT EXISTS "
                    "(SELECT 1 FROM source_columns WHERE table_name = $1 AND column_name = $2)",
                    [(table, column) for column in columns])


def ensure_source_columns(con: duckdb.DuckDBPyConnection) -> None:
    """A warehouse loaded before loads recorded their columns: take a column as present when any row has a value
    (a column with a default, such as reopened, then counts as present: that is all such a warehouse can tell)."""
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'source_columns'").fetchall()[0][0]:
        return
    con.execute(SOURCE_COLUMNS_DDL)
    for contract in CONTRACTS.values():
        counts = ", ".join(f"count({c}) AS {c}" for c in contract.column_names)
        row = con.execute(f"SELECT {counts} FROM {contract.name}").fetchall()[0]
        record_source_columns(con, contract.name, [c for c, n in zip(contract.column_names, row) if n])
