"""Explore: any catalogue metric by any dimensions, or any table's rows, under the sidebar filters; preview and
download."""

import streamlit as st

from dashboard import data
from dashboard.filters import IDENTITY_KEY, current, ticket_filters
from dashboard.i18n import _, language
from dashboard.labels import TABLES, column, label
from dashboard.ui import metric_label, page_header, table
from metrics import CATALOGUE, PERSPECTIVES
from metrics.warehouse import EXPLORABLE

f = current("explore")
if f is None:
    st.stop()
page_header(_("Explore and download"), _("Slice any metric or table under the sidebar filters and take the data away."))

kinds = {"metric": _("A metric"), "table": _("A table's rows")}
allowed_kinds = list(kinds) if st.session_state[IDENTITY_KEY].can_download_rows else ["metric"]
kind = st.segmented_control(_("What to explore"), allowed_kinds, default="metric", key="explore_kind",
                            format_func=lambda k: kinds[k]) or "metric"
f = ticket_filters(f, "ex")


def perspective(metric_id: str) -> str:
    english, chinese = PERSPECTIVES[CATALOGUE[metric_id].perspective]
    return chinese if language() == "zh" else english


if kind == "metric":
    c1, c2 = st.columns([1, 2])
    metric_id = c1.selectbox(_("Metric"), list(CATALOGUE), key="explore_metric",
                             format_func=lambda m: f"{metric_label(m)} · {perspective(m)}")
    metric = CATALOGUE[metric_id]
    by = c2.multiselect(_("Break down by"), list(metric.dimensions), key=f"explore_by_{metric_id}",
                        default=["month"] if "month" in metric.dimensions else [], format_func=column,
                        max_selections=3)
    st.caption(_("Definition:") + f" {_(metric.definition)} " +
               _("Unit: {unit}; {direction}.").format(unit=_(metric.unit),
                                                      direction=_("higher is better") if metric.direction == "higher"
                                                      else _("lower is better")))
    try:
        frame = data.metric(metric_id, f, by=tuple(by))
    except ValueError:
        st.warning(_("Choose at most one of week, month, quarter and year."))
    else:
        table(frame, f"{metric_id}_{'_'.join(by) or 'total'}")
else:
    name = st.selectbox(_("Table"), list(EXPLORABLE), key="explore_table", format_func=lambda t: label(TABLES, t))
    rows = data.view("table_slice", f, table=name)
    st.caption(_("{rows} rows in the period for the selected customers (at most 100,000 in the downloads).")
               .format(rows=f"{len(rows):,}"))
    table(rows, f"{name}_rows", height=480)
