"""Key Account Service Scorecard: entry point. Page config, the warehouse, global filters and navigation."""

import streamlit as st

from dashboard import auth, data, registry
from dashboard.filters import choose_language, sidebar_filters
from dashboard.i18n import _
from dashboard.users import LANDING_PAGES

choose_language()
st.set_page_config(page_title=_("Key Account Service Scorecard"), page_icon=":material/bolt:", layout="wide")
data.ensure_warehouse()

identity = auth.signed_in()
if identity is None:
    st.stop()
# Each role lands on its own page: an account manager on their portfolio.
landing = LANDING_PAGES.get(identity.role, "scorecard")
PAGES: dict[str, list] = {}
for spec in registry.PAGES:
    PAGES.setdefault(_(spec.section), []).append(
        st.Page(spec.file, title=_(spec.title), icon=spec.icon, default=spec.slug == landing))
allowed = {section: [page for page in pages if (page.url_path or landing) in identity.pages]
           for section, pages in PAGES.items()}
navigation = st.navigation({section: pages for section, pages in allowed.items() if pages})
goto = st.query_params.get("goto")
if goto is not None:
    # Back from a deep link that reached a page file before the shell had run (see dashboard.filters.current);
    # done before the filter widgets exist, while their URL parameters may still be passed on.
    params = {key: st.query_params.get_all(key) for key in st.query_params if key != "goto"}
    target = next((page for pages in allowed.values() for page in pages if page.url_path == goto), navigation)
    st.switch_page(target, query_params=params)
sidebar_filters(identity)
auth.sidebar_badge(identity)
navigation.run()
