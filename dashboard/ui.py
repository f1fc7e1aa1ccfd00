"""Shared Streamlit pieces: page header, KPI tile, download row, empty-state message, table display."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Literal
from urllib.parse import quote

import pandas as pd
import streamlit as st

from dashboard import exports
from dashboard.charts import STATUS_COLORS
from dashboard.format import NO_VALUE, UNCHANGED, change, day, number
from dashboard.i18n import _, language
from dashboard.labels import STATUS, label, readable
from metrics import CATALOGUE

NO_DATA = "No data for these filters. Widen the period or clear some filters in the sidebar."


def metric_label(metric_id: str) -> str:
    metric = CATALOGUE[metric_id]
    return metric.label_zh if language() == "zh" else metric.label_en


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "data"


def downloads(frame: pd.DataFrame | Callable[[], pd.DataFrame], name: str, tables: bool = False) -> None:
    """CSV one click away; Excel and Parquet too where a table is offered. `frame` may be a function giving it, for
    a table whose rows are made ready only when a file is asked for (table: the rows not shown).

    The file is made on click (a callable) and the click does not rerun the page (`on_click="ignore"`): a rerun
    registers a new file id for every button and drops the old ones, so a click whose request reached the server
    after its own rerun asked for a file that no longer existed ("Deferred file … not found") and its button spun
    for ever."""
    def rows() -> pd.DataFrame:
        return frame() if callable(frame) else frame

    base = slug(name)
    row = st.container(horizontal=True, gap="small")
    row.download_button("CSV", lambda: exports.csv_bytes(rows()), f"{base}.csv", "text/csv",
                        key=f"csv_{base}", icon=":material/download:", on_click="ignore")
    if tables:
        row.download_button("Excel", lambda: exports.excel_bytes(rows()), f"{base}.xlsx",
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            key=f"xlsx_{base}", icon=":material/download:", on_click="ignore")
        row.download_button("Parquet", lambda: exports.parquet_bytes(rows()), f"{base}.parquet",
                            "application/octet-stream", key=f"parquet_{base}", icon=":material/download:",
                            on_click="ignore")


def chart(fig, frame: pd.DataFrame, name: str) -> None:
    """A Plotly chart with its data one click away; a clear message instead of an empty axis (also when every value
    is null: the metric has no data)."""
    if frame.empty or ("value" in frame.columns and frame["value"].isna().all()):
        st.info(_(NO_DATA), icon=":material/filter_alt_off:")
        return
    st.plotly_chart(fig, config={"displaylogo": False}, key=f"chart_{slug(name)}")
    downloads(frame, name)


def account_links(frame: pd.DataFrame) -> list[str | None]:
    """A link to the account page of each row's customer_id, in the current language."""
    lang = "&lang=zh" if language() == "zh" else ""
    return [None if pd.isna(c) else f"account?customer={quote(str(c), safe='')}{lang}" for c in frame["customer_id"]]


# The rows a table shows at most, in its own order (the downloads hold all of them): more is a list nobody reads on
# screen, and the page would spend seconds drawing it (with the 1 M demo's 108 k accounts at risk all drawn, the
# retention page's script took 2.7 s, 3.7 s in Chinese; 1.3 s with a thousand).
SHOWN_ROWS = 1_000


def table(frame: pd.DataFrame, name: str, column_config: dict | None = None, height: int | Literal["auto"] = "auto",
          days: tuple[str, ...] = (), prepared: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> None:
    """A table with readable headers and values and its downloads; a table that names accounts (customer_id) opens
    each one's account page from a link column in front (shown only: the downloads hold the table as it is).
    `days`: date columns shown as days in the current language, and "–" where there is none (Streamlit would print
    "None"); the downloads keep them empty. A table of more than SHOWN_ROWS rows shows the first of them and says
    so; the downloads hold every row. `prepared`: what the page makes of its rows before they are shown or
    downloaded (the columns it shows, text in the current language), made for the rows shown, and for all of them
    only when a file is asked for."""
    if frame.empty:
        st.info(_(NO_DATA), icon=":material/filter_alt_off:")
        return
    ready = prepared or (lambda rows: rows)
    head = ready(frame.head(SHOWN_ROWS))
    shown = readable(head.assign(**{c: [day(v) if pd.notna(v) else NO_VALUE for v in head[c]] for c in days}))
    if "customer_id" in head.columns:
        link = _("Account page")
        shown.insert(0, link, account_links(head))
        column_config = {link: st.column_config.LinkColumn(display_text=_("Open")), **(column_config or {})}
    st.dataframe(shown, hide_index=True, column_config=column_config, height=height, key=f"table_{slug(name)}",
                 placeholder=NO_VALUE)
    if len(frame) > SHOWN_ROWS:
        st.caption(_("The first {shown} of {total} rows, in the table's order; the downloads hold all of them.")
                   .format(shown=f"{SHOWN_ROWS:,}", total=f"{len(frame):,}"))
    downloads(lambda: flat(ready(frame)), name, tables=True)


def flat(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns of lists (a sparkline's points) as text for the downloads, each value (2 decimals) or "" for a gap,
    '; ' between."""
    lists = [c for c in frame.columns if frame[c].map(lambda v: isinstance(v, (list, tuple))).any()]
    return frame.assign(**{c: ["" if not isinstance(v, (list, tuple)) else
                               "; ".join("" if x is None or x != x else f"{x:.2f}" for x in v) for v in frame[c]]
                           for c in lists}) if lists else frame


# How much text fits beside a KPI tile's change badge, in ems: a CJK character is one, anything else about half (seen
# in screenshots of four-in-a-row tiles: "+2.9 pp vs 2024-12–2025-11" fits, "+0.7 个百分点 较2024-12–2025-11" is cut).
TILE_CHANGE_EMS = 14.0


def text_ems(text: str) -> float:
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.5 for ch in text)


def dates_fit(delta: str, compared_with: str) -> bool:
    """Whether "vs <the previous period's dates>" fits beside a tile's change."""
    return text_ems(delta) + text_ems(_("vs {period}").format(period=compared_with)) <= TILE_CHANGE_EMS


def change_description(delta: str, compared_with: str | None) -> str:
    """What a tile's change is against: the previous period's dates when they fit beside the change, else "vs
    previous period" (the page header names its dates)."""
    if compared_with is not None and dates_fit(delta, compared_with):
        return _("vs {period}").format(period=compared_with)
    return _("vs previous period")


def row_comparison(changes: list[tuple[str, float | None]], compared_with: str | None) -> str | None:
    """The previous period's dates for a row of tiles (metric id, change) if they fit beside every tile's change,
    else None, so that every tile of the row says "vs previous period": one row, one wording."""
    deltas = [change(value, CATALOGUE[metric_id].format) for metric_id, value in changes]
    if compared_with is None or not all(dates_fit(d, compared_with) for d in deltas if d):
        return None
    return compared_with


def kpi_tile(metric_id: str, value: float, target: float | None = None, status: str | None = None,
             previous_change: float | None = None, spark: list[float] | None = None, narrow: bool = False,
             compared_with: str | None = None) -> None:
    """A KPI tile; `narrow` tiles (five in a row) leave out the words after the change, which would be cut;
    `compared_with` names the period the change is against (dashboard.format.period)."""
    metric = CATALOGUE[metric_id]
    delta = change(previous_change, metric.format)
    unchanged = delta is not None and delta.startswith(UNCHANGED)
    with st.container(border=True):
        st.metric(metric_label(metric_id), number(value, metric.format), delta=delta,
                  delta_color="off" if unchanged else "normal" if metric.direction == "higher" else "inverse",
                  delta_arrow="off" if unchanged else "auto",
                  help=_(metric.definition), chart_data=spark or None, chart_type="area",
                  delta_description=change_description(delta, compared_with) if delta and not narrow else None)
        if status is not None:
            colour = STATUS_COLORS[status]
            st.markdown(
                f"<span style='background:{colour};color:white;border-radius:4px;padding:1px 8px;"
                f"font-size:0.8rem'>{label(STATUS, status)}</span> "
                f"<span style='color:#5b6b7b;font-size:0.85rem'>{_('target')} {number(target, metric.format)}</span>",
                unsafe_allow_html=True)


def page_header(title: str, question: str) -> None:
    st.title(title)
    st.caption(question)
