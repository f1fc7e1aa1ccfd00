"""A source's mapping file (TOML): which table a file holds and what its own headers mean.

    [tables.customers]
    files = ["kh_*.csv"]          # optional: file-name patterns that hold this table
    sheet = "客户"                 # optional: Excel sheet to read (default: the first)
    [tables.customers.columns]
    "用户号" = "customer_id"       # source header = canonical column
"""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

from pydantic import ValidationError, field_validator, model_validator

from ingest.contracts import CONTRACTS, StrictModel
from ingest.errors import LoadError
from ingest.limits import UploadLimits, mapping_text


class TableMapping(StrictModel):
    files: tuple[str, ...] = ()
    sheet: str | None = None
    columns: dict[str, str] = {}


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
    def _known_columns(self) -> "SourceMapping":
        for table, mapping in self.tables.items():
            known = set(CONTRACTS[table].column_names)
            for header, canonical in mapping.columns.items():
                if canonical not in known:
                    raise ValueError(
                        f"tables.{table}.columns: '{header}' maps to unknown column '{canonical}'; "
                        f"known columns: {', '.join(CONTRACTS[table].column_names)}"
                    )
        return self

    def table_for_file(self, path: Path) -> str | None:
        for table, mapping in self.tables.items():
            if any(fnmatch.fnmatch(path.name, pattern) for pattern in mapping.files):
                return table
        return None

    def columns_for(self, table: str) -> dict[str, str]:
        mapping = self.tables.get(table)
        return dict(mapping.columns) if mapping else {}

    def sheet_for(self, table: str | None) -> str | None:
        mapping = self.tables.get(table) if table else None
        return mapping.sheet if mapping else None


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
