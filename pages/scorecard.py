"""Scorecard (home): the four perspectives, KPI tiles against target, composite score and the region league table."""

import pandas as pd
import streamlit as st

from dashboard import briefing, data, store_ui
from dashboard.charts import sparkline_values
from dashboard.filters import current
from dashboard.format import NO_VALUE, day, month, period
from dashboard.i18n import _, language
from dashboard.labels import column
from dashboard.ui import downloads, kpi_tile, metric_label, page_header, row_comparison, table
from metrics import PERSPECTIVES
from metrics.query import whole_months
from metrics.scorecard import previous_period, sparkline_window

f = current("scorecard")
if f is None:
    st.stop()
before = previous_period(f)
compared = (_("{start} to {end}, compared with as many whole months just before ({before_start} to {before_end}).")
            if whole_months(f) is not None else
            _("{start} to {end}, compared with the previous period of the same length "
              "({before_start} to {before_end})."))
compared = compared.format(start=day(f.start), end=day(f.end), before_start=day(before.start),
                           before_end=day(before.end))
spark = sparkline_window(f)
if whole_months(f) is None and spark != f:
    compared += " " + _("Sparklines by whole month, {start} to {end}.").format(start=month(spark.start),
                                                                             end=month(spark.end))
page_header(_("Key account service scorecard"), compared)
briefing.download_button(f)
kpis, perspective_scores = data.scorecard_results(f)
scores = perspective_scores.set_index("perspective")["score"]


def out_of_100(value: float) -> str:
    return "–" if value != value else f"{value:.0f} / 100"


def perspective_label(key: str) -> str:
    english, chinese = PERSPECTIVES[key]
    return chinese if language() == "zh" else english


cols = st.columns(5)
cols[0].metric(_("Composite score"), out_of_100(scores["composite"]), border=True,
               help=_("Weighted mean of the KPI scores that have data; each KPI scores its value against target, "
                      "capped at 100."))
for col, key in zip(cols[1:], PERSPECTIVES):
    col.metric(perspective_label(key), out_of_100(scores[key]), border=True)

without_inputs = kpis[kpis["missing"].map(len) > 0]
if not without_inputs.empty:
    st.info(_("No data (grey) where no loaded export has what a KPI needs: {kpis}.").format(
        kpis="; ".join(f"{metric_label(m)} ({', '.join(needs)})" for m, needs in
                       zip(without_inputs["metric"], without_inputs["missing"]))), icon=":material/visibility_off:")

trends = data.sparklines(f)
# the management routine (owners, commentary, actions, events): dashboard/store_ui.py
store_ui.show_message()
notes = store_ui.tile_notes(f, kpis)
store_ui.routine_caption(f, notes)
for key in PERSPECTIVES:
    st.subheader(perspective_label(key))
    rows = kpis[kpis["perspective"] == key]
    tile_cols = st.columns(max(4, len(rows)))
    compared_with = row_comparison(list(zip(rows["metric"], rows["change"])), period(before.start, before.end))
    for i, row in enumerate(rows.itertuples(index=False)):
        with tile_cols[i]:
            kpi_tile(row.metric, row.value, row.target, row.status, row.change,
                     sparkline_values(trends[row.metric]), narrow=len(rows) > 4,
                     compared_with=compared_with)
            store_ui.tile_footer(row.metric, f, notes)

store_ui.actions_section(f, kpis)
store_ui.events_section(f)

st.subheader(_("Region league table"))
league = data.league_table(f)
st.caption(_("Regions ranked by composite score; a region without data in the period has no score and no rank. "
             "Select a row to filter every page to that region."))


def _pick_region() -> None:
    selection = st.session_state["league"].selection.rows
    if selection:
        st.session_state["region"] = [league.iloc[selection[0]]["region"]]


if league.empty:
    st.info(_("No data for these filters. Widen the period or clear some filters in the sidebar."))
else:
    # a region without a score has no rank: "–", as every figure without data
    shown = league.assign(rank=[str(int(r)) if pd.notna(r) else "–" for r in league["rank"]])
    shown = shown.rename(columns={c: column(c) for c in league.columns})
    score_format = st.column_config.ProgressColumn(format="%.0f", min_value=0, max_value=100)
    st.dataframe(shown, hide_index=True, key="league", on_select=_pick_region, selection_mode="single-row",
                 placeholder=NO_VALUE, height=35 * (len(shown) + 1) + 3,
                 column_config={column(c): score_format for c in ("composite", *PERSPECTIVES)})
    downloads(league, "region_league_table", tables=True)

store_ui.admin_section(kpis)

with st.expander(_("All KPIs as a table")):
    table(kpis.drop(columns=["weight", "missing"]).assign(metric=kpis["metric"].map(metric_label),
                                               perspective=kpis["perspective"].map(perspective_label)),
          "scorecard_kpis")
