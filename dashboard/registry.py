"""The dashboard's pages, in one place: slug (the page file's name and its URL path), navigation title and icon, and
section. The app's navigation, the roles' page lists, the tests and the benchmark all read this list (no Streamlit
here, so the users file's checks can use it too). A new page is one line below plus its file in pages/."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    slug: str
    title: str  # English; shown through dashboard.i18n
    icon: str
    section: str

    @property
    def file(self) -> str:
        return f"pages/{self.slug}.py"


PAGES: tuple[PageSpec, ...] = (
    PageSpec("scorecard", "Scorecard", ":material/dashboard:", "Scorecard"),
    PageSpec("tiers", "Tiers", ":material/stacked_bar_chart:", "Analysis"),
    PageSpec("response_times", "Response times", ":material/timer:", "Analysis"),
    PageSpec("complaints", "Complaints", ":material/report:", "Analysis"),
    PageSpec("retention", "Retention", ":material/handshake:", "Analysis"),
    PageSpec("satisfaction", "Satisfaction", ":material/sentiment_satisfied:", "Analysis"),
    PageSpec("account", "Account", ":material/person_search:", "Accounts"),
    PageSpec("account_managers", "Account managers", ":material/groups:", "Accounts"),
    PageSpec("data", "Data status", ":material/database:", "Data"),
    PageSpec("explore", "Explore and download", ":material/table_view:", "Data"),
)
SLUGS: tuple[str, ...] = tuple(page.slug for page in PAGES)
# Pages that open on one account or one manager's portfolio rather than on the sidebar's filters alone.
ONE_ACCOUNT_PAGES: tuple[str, ...] = ("account", "account_managers")
