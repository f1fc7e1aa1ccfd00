"""A long table shows its first rows and says so, its downloads hold every row (dashboard.ui.table, SHOWN_ROWS), and a
page's heaviest figure computed on a thread of its own gives what the page would have computed itself
(dashboard.data.in_background)."""

from __future__ import annotations

import threading

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import data, ui

DOWNLOADS: list = []


def long_table_script():
    import pandas as pd

    from dashboard.ui import table

    rows = pd.DataFrame({"customer_id": [f"C{i:04d}" for i in range(1_500)], "amount": range(1_500),
                         "note": ["n"] * 1_500})
    # what the page makes of its rows: the columns it shows, the amount doubled
    table(rows, "long", prepared=lambda part: part.assign(amount=part["amount"] * 2)[["customer_id", "amount"]])


def test_a_long_table_shows_its_first_rows_and_its_downloads_hold_all(monkeypatch):
    DOWNLOADS.clear()
    monkeypatch.setattr(ui, "downloads", lambda frame, name, tables=False: DOWNLOADS.append((frame, name)))
    at = AppTest.from_function(long_table_script).run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert len(shown) == ui.SHOWN_ROWS == 1_000
    assert shown["Customer ID"].tolist()[:2] == ["C0000", "C0001"] and shown["Customer ID"].iloc[-1] == "C0999"
    assert "note" not in " ".join(shown.columns).lower()  # prepared: the columns the page shows
    assert any("The first 1,000 of 1,500 rows" in c.value for c in at.caption)
    (frame, name), = DOWNLOADS
    whole = frame()  # made only when a file is asked for
    assert name == "long" and len(whole) == 1_500 and list(whole.columns) == ["customer_id", "amount"]
    assert whole["amount"].iloc[-1] == 2 * 1_499


def short_table_script():
    import pandas as pd

    from dashboard.ui import table

    table(pd.DataFrame({"amount": [1, 2, 3]}), "short")


def test_a_short_table_shows_every_row_and_no_note():
    at = AppTest.from_function(short_table_script).run()
    assert not at.exception
    assert at.dataframe[0].value.iloc[:, 0].tolist() == [1, 2, 3]
    assert not [c for c in at.caption if "rows, in the table's order" in c.value]


def test_a_figure_computed_in_the_background_is_the_figure_and_its_error_the_error():
    threads = []

    def figure() -> pd.DataFrame:
        threads.append(threading.current_thread().name)
        return pd.DataFrame({"value": [42.0]})

    assert data.in_background(figure).result(timeout=30)["value"].tolist() == [42.0]
    assert threads == ["page-figure"]  # not the caller's thread

    def broken() -> pd.DataFrame:
        raise ValueError("metric 'x' cannot be broken down by y")

    with pytest.raises(ValueError, match="cannot be broken down"):
        data.in_background(broken).result(timeout=30)
