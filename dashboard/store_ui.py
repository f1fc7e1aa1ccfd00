"""The scorecard's management routine on screen: owners, commentary, actions (督办), events and the audit trail, read
from and written to the application store (`store`), which checks every permission itself.

The store is a SQLite file beside the warehouse unless SCORECARD_STORE_URL names another database (any SQLAlchemy
URL, e.g. postgresql+psycopg://user:password@host/scorecard). It is opened, and migrated, once per process.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path

import pandas as pd

import store
from dashboard import data
from metrics import scorecard

STORE_URL_VARIABLE = "SCORECARD_STORE_URL"
_opened: dict[str, store.Store] = {}
_synced: dict[str, tuple] = {}
_lock = threading.Lock()


def default_url(warehouse: Path) -> str:
    """The zero-configuration store: store.sqlite beside the warehouse file (a load replaces only the warehouse)."""
    return f"sqlite:///{Path(warehouse).parent / 'store.sqlite'}"


def url() -> str:
    return os.environ.get(STORE_URL_VARIABLE) or default_url(data.WAREHOUSE)


def current() -> store.Store:
    """The store of this deployment, migrated, with the scorecard file's owners and targets taken in (a change to
    them is recorded in the audit trail once)."""
    where = url()
    with _lock:
        opened = _opened.get(where)
        if opened is None:
            opened = _opened[where] = store.open(where)
        config_file = scorecard.DEFAULT_FILE
        seen = (str(config_file), config_file.stat().st_mtime_ns)
        if _synced.get(where) != seen:
            owners, targets = scorecard.file_values(scorecard.load_config(config_file))
            opened.sync_file(store.FileValues(owners, targets), source=config_file.name)
            _synced[where] = seen
    return opened


def chart_events(start: dt.date, end: dt.date, regions: tuple[str, ...] | None, identity) -> pd.DataFrame:
    """The events a time chart of these dates and regions shows (columns event_date, region, kind, text), as the
    person may read them."""
    rows = current().events(identity, start, end, regions)
    return pd.DataFrame(rows, columns=["event_date", "region", "kind", "text"])[["event_date", "region", "kind", "text"]]
