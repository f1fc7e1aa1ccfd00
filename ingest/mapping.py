"""A source's mapping file (TOML): which table a file holds, what its own headers mean and how to read them.

    [tables.tickets]
    files = ["311_*.csv"]         # optional: file-name patterns that hold this table
    sheet = "工单"                 # optional: Excel sheet to read (default: the first that holds the table)
    [tables.tickets.columns]
    "SRNumber" = "ticket_id"      # source header = canonical column
    [tables.tickets.formats]
    created_at = "%m/%d/%Y %I:%M:%S %p"   # strptime format(s) for a column, instead of the accepted ones
    [tables.tickets.values.channel]
    "Mobile App" = "online"       # a source's value = the contract's enum value
    [tables.tickets.constants]
    ticket_type = "complaint"     # one value for every row (a complaints-only export)
    [tables.billing.units]
    amount_billed = "万元"         # the column's unit: values are scaled to yuan (kWh for 万千瓦时)
"""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

from pydantic import ValidationError, field_validator, model_validator

from ingest.contracts import CONTRACTS, UNITS, StrictModel
from ingest.errors import LoadError
from ingest.limits import UploadLimits, mapping_text


class TableMapping(StrictModel):
    files: tuple[str, ...] = ()
    sheet: str | None = None
    columns: dict[str, str] = {}
    formats: dict[str, str | tuple[str, ...]] = {}
    values: dict[str, dict[str, str]] = {}
    constants: dict[str, str] = {}
    units: dict[str, str] = {}

    def formats_for(self, column: str) -> list[str]:
        declared = self.formats.get(column, ())
        return [declared] if isinstance(declared, str) else list(declared)


class SourceMapping(StrictModel):
    tables: dict[str, TableMapping] = {}

    @field_validator("tables")
    @classmethod
    def _known_tables(cls, tables: dict[str, TableMapping]) -> dict[str, TableMapping]:
        unknown = sorted(set(tables) - set(CONTRACTS))
        if unknown:
            raise ValueError(f"unknown table(s) {unknown}; known tables: {', '.join(CONTRACTS)}")
        return tables

    @model_validator(mode="after")
    def _known_columns(self) -> SourceMapping:
        for table, mapping in self.tables.items():
            contract = CONTRACTS[table]
            known = set(contract.column_names)
            for header, canonical in mapping.columns.items():
                if canonical not in known:
                    raise ValueError(
                        f"tables.{table}.columns: '{header}' maps to unknown column '{canonical}'; "
                        f"known columns: {', '.join(contract.column_names)}"
                    )
            for section in ("formats", "values", "constants", "units"):
                for column in getattr(mapping, section):
                    if column not in known:
                        raise ValueError(f"tables.{table}.{section}: unknown column '{column}'; "
                                         f"known columns: {', '.join(contract.column_names)}")
            for column in mapping.formats:
                if contract.column(column).type not in ("date", "timestamp", "month"):
                    raise ValueError(f"tables.{table}.formats: '{column}' is not a date, timestamp or month column")
            for column, translations in mapping.values.items():
                allowed = contract.column(column).values
                if not allowed:
                    raise ValueError(f"tables.{table}.values: '{column}' is not an enum column")
                wrong = sorted({v for v in translations.values() if v not in allowed})
                if wrong:
                    raise ValueError(f"tables.{table}.values.{column}: {wrong} are not values of {column}; "
                                     f"use one of {', '.join(allowed)}")
            for column, unit in mapping.units.items():
                if contract.column(column).type != "number":
                    raise ValueError(f"tables.{table}.units: '{column}' is not a number column")
                if unit.lower() not in UNITS:
                    raise ValueError(f"tables.{table}.units.{column}: unknown unit '{unit}'; "
                                     f"known units: {', '.join(UNITS)}")
            both = sorted(set(mapping.constants) & set(mapping.columns.values()))
            if both:
                raise ValueError(f"tables.{table}: {both} are both mapped from a header and given as constants")
        return self

    def table_for_file(self, path: Path) -> str | None:
        for table, mapping in self.tables.items():
            if any(fnmatch.fnmatch(path.name, pattern) for pattern in mapping.files):
                return table
        return None

    def for_table(self, table: str) -> TableMapping:
        return self.tables.get(table) or TableMapping()

    def columns_for(self, table: str) -> dict[str, str]:
        return dict(self.for_table(table).columns)

    def sheet_for(self, table: str | None) -> str | None:
        return self.for_table(table).sheet if table else None


def load_mapping(path: Path | None, limits: UploadLimits | None = None) -> SourceMapping:
    """The mapping file at path (UTF-8, UTF-16 or GB18030/GBK; size-limited); any problem raises LoadError naming it."""
    if path is None:
        return SourceMapping()
    text = mapping_text(Path(path), limits or UploadLimits.from_env())
    try:
        return SourceMapping.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise LoadError(f"{path}: not valid TOML: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise LoadError(f"{path}: {problems}") from None
