"""Validate exported tables against their contracts and load them into the DuckDB warehouse."""

from ingest.contracts import CONTRACTS
from ingest.errors import LoadError
from ingest.load import LoadReport, load
from ingest.mapping import load_mapping

__all__ = ["CONTRACTS", "LoadError", "LoadReport", "load", "load_mapping"]
