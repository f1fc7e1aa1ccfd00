"""Key Account Service Scorecard: entry point. Page config, the warehouse, global filters and navigation."""

import streamlit as st

from dashboard import data
from dashboard.filters import sidebar_filters

st.set_page_config(page_title="Key Account Service Scorecard", page_icon=":material/bolt:", layout="wide")
data.ensure_warehouse()

navigation = st.navigation({
    "Scorecard": [st.Page("pages/scorecard.py", title="Scorecard", icon=":material/dashboard:", default=True)],
    "Analysis": [
        st.Page("pages/tiers.py", title="Tiers", icon=":material/stacked_bar_chart:"),
        st.Page("pages/response_times.py", title="Response times", icon=":material/timer:"),
        st.Page("pages/complaints.py", title="Complaints", icon=":material/report:"),
        st.Page("pages/retention.py", title="Retention", icon=":material/handshake:"),
        st.Page("pages/satisfaction.py", title="Satisfaction", icon=":material/sentiment_satisfied:"),
    ],
    "Data": [
        st.Page("pages/data.py", title="Data status", icon=":material/database:"),
        st.Page("pages/explore.py", title="Explore and download", icon=":material/table_view:"),
    ],
})
sidebar_filters()
navigation.run()
