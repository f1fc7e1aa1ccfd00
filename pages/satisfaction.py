"""Satisfaction: CSAT, NPS, the four classic service dimensions, by survey method and over time."""

import streamlit as st

from dashboard import charts, data, store_ui
from dashboard.filters import current
from dashboard.i18n import _
from dashboard.labels import DIMENSION, METHOD, column, label
from dashboard.ui import chart, kpi_tile, page_header, table

f = current("satisfaction")
if f is None:
    st.stop()
page_header(_("Satisfaction"),
            _("How satisfied are key accounts, with which part of our service, and does it hold across survey "
              "methods?"))

cols = st.columns(3)
for col, metric_id in zip(cols, ("csat", "nps", "callback_satisfaction")):
    with col:
        kpi_tile(metric_id, data.metric(metric_id, f)["value"].iloc[0])

left, right = st.columns(2)
with left:
    dims = data.view("survey_dimensions", f)
    chart(charts.bars(dims, "dimension", _("Mean score by service dimension"), column("mean_score"), "score",
                      value="mean_score", labels=DIMENSION), dims, "survey_dimensions")
with right:
    by_method = data.view("survey_dimensions", f, by=("method",))
    chart(charts.heatmap(by_method.assign(method=by_method["method"].map(lambda m: label(METHOD, m)),
                                          dimension=by_method["dimension"].map(lambda d: label(DIMENSION, d))),
                         "dimension", "method", "mean_score", _("Scores by survey method"), fmt="score",
                         x_title=column("dimension"), y_title=column("method")), by_method, "survey_by_method")

left, right = st.columns(2)
with left:
    csat = data.metric("csat", f, by=("quarter",))
    chart(charts.trend(csat, _("CSAT by quarter"), _("Share scoring 4 or 5"), "percent", x="quarter", target=0.85,
                       events=store_ui.events_for(f)), csat, "csat_by_quarter")
with right:
    nps = data.metric("nps", f, by=("quarter",))
    chart(charts.trend(nps, _("NPS by quarter"), _("Net promoter score"), "nps", x="quarter", target=30,
                       events=store_ui.events_for(f)), nps, "nps_by_quarter")

st.subheader(_("By region"))
by_region = data.metric("csat", f, by=("region",)).sort_values("value")
chart(charts.bars(by_region, "region", _("CSAT by region"), _("Share scoring 4 or 5"), "percent", target=0.85,
                  horizontal=True), by_region, "csat_by_region")
with st.expander(_("Scores by region and dimension")):
    table(data.view("survey_dimensions", f, by=("region",)), "survey_dimensions_by_region")
