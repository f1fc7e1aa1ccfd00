"""Explore: any catalogue metric by any dimensions, or any table's rows, under the sidebar filters; preview and download."""

import streamlit as st

from dashboard import data
from dashboard.filters import IDENTITY_KEY, current, ticket_filters
from dashboard.labels import column
from dashboard.ui import page_header, table
from metrics import CATALOGUE, PERSPECTIVES
from metrics.warehouse import EXPLORABLE

f = current("explore")
if f is None:
    st.stop()
page_header("Explore and download", "Slice any metric or table under the sidebar filters and take the data away.")

kinds = ["metric", "table"] if st.session_state[IDENTITY_KEY].can_download_rows else ["metric"]
kind = st.segmented_control("What to explore", kinds, default="metric", key="explore_kind",
                            format_func={"metric": "A metric", "table": "A table's rows"}.get) or "metric"
f = ticket_filters(f, "ex")

if kind == "metric":
    c1, c2 = st.columns([1, 2])
    metric_id = c1.selectbox("Metric", list(CATALOGUE), key="explore_metric",
                             format_func=lambda m: f"{CATALOGUE[m].label_en} · {PERSPECTIVES[CATALOGUE[m].perspective][0]}")
    metric = CATALOGUE[metric_id]
    by = c2.multiselect("Break down by", list(metric.dimensions), default=["month"] if "month" in metric.dimensions else [],
                        key=f"explore_by_{metric_id}", format_func=column, max_selections=3)
    st.caption(f"**Definition:** {metric.definition} Unit: {metric.unit}; {metric.direction} is better.")
    try:
        frame = data.metric(metric_id, f, by=tuple(by))
    except ValueError as error:
        st.warning(str(error))
    else:
        table(frame, f"{metric_id}_{'_'.join(by) or 'total'}")
else:
    name = st.selectbox("Table", list(EXPLORABLE), key="explore_table", format_func=lambda t: t.replace("_", " ").capitalize())
    rows = data.view("table_slice", f, table=name)
    st.caption(f"{len(rows):,} rows in the period for the selected customers (at most 100,000 shown and downloaded).")
    table(rows, f"{name}_rows", height=480)
