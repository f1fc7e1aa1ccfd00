"""The sidebar's global filters, kept across pages and in the URL (widgets bound to query parameters)."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from dashboard import data, escape, i18n
from dashboard.i18n import _
from dashboard.labels import AREA, CHANNEL, TICKET_TYPE, TIER, label
from dashboard.users import Identity
from metrics import Filters
from metrics.filters import AREAS, CHANNELS, TICKET_TYPES, TIERS

GLOBAL_KEYS = ("period", "region", "center", "tier", "industry", "area", "voltage")
LANGUAGE_KEY = "lang"


def choose_language() -> str:
    """This run's language: the sidebar choice (kept in the URL), else the browser's locale, else the default."""
    chosen = st.session_state.get(LANGUAGE_KEY) or st.query_params.get(LANGUAGE_KEY)
    if chosen not in i18n.LANGUAGES:
        locale = (st.context.locale or "").lower()
        chosen = "zh" if locale.startswith("zh") else "en" if locale.startswith("en") else i18n.DEFAULT_LANGUAGE
    i18n.use(chosen)
    return chosen
STATE_KEY = "active_filters"


def _reset(period: tuple[dt.date, dt.date]) -> None:
    """Back to the defaults. Widgets bound to the URL are changed through their state, which also clears the URL."""
    st.session_state["period"] = period
    for key in GLOBAL_KEYS[1:]:
        st.session_state[key] = []


def default_period(first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
    """The last twelve months of data."""
    try:
        start = last.replace(year=last.year - 1) + dt.timedelta(days=1)
    except ValueError:
        start = last.replace(year=last.year - 1, day=28) + dt.timedelta(days=1)
    return max(first, start), last


def migration_dates(f: Filters, first_day: dt.date) -> tuple[dt.date, dt.date]:
    """The tier migration's dates before the user picks others (the tiers page): a year before the window's end, or
    the data's first day if later, and the window's end."""
    return max(first_day, f.shifted_years(-1).end), f.end


def _coded_choices_from_url(key: str, options: tuple[str, ...], mapping: dict[str, str]) -> None:
    """A bound widget of coded choices (tier, area, ticket type, channel) reads its labels in this language from the
    URL; a link may name a choice by its code (?tier=key) or by its label in either language (one copied by someone
    reading the other). When it does, the widget is given those choices through its state (it takes its value from
    the link as the page first opened, where they are no labels of its) and the link shows them in this language.
    Values that are no choice are left for the widget to drop. Streamlit seeds the widget from the link's labels of
    this language first and then ignores its state: a link mixing them with codes or the other language's labels
    (?tier=VIP&tier=key) would keep only those, so the page runs again on the rewritten link, all labels."""
    values = st.query_params.get_all(key)
    if not values:
        return
    from dashboard.zh import ZH

    codes = {form: code for code in options for form in (code, mapping[code], ZH.get(mapping[code], mapping[code]))}
    shown = [label(mapping, codes[value]) if value in codes else value for value in values]
    if shown != values:
        st.session_state[key] = list(dict.fromkeys(codes[value] for value in values if value in codes))
        st.query_params[key] = list(dict.fromkeys(label(mapping, codes[value]) for value in values if value in codes))
        if any(value in codes and value == form for value, form in zip(values, shown)):
            st.rerun()


def _dropped_from_url(key: str, allowed: list[str]) -> list[str]:
    return [value for value in st.query_params.get_all(key) if value not in allowed]


def _unusable_period(first: dt.date, last: dt.date) -> list[str]:
    """The period values of the URL when they are no period of the data (unreadable dates, not two of them, start
    after end, outside the data), else []. Checked at a session's first run only: later the URL follows the picker,
    which holds one date while a range is being chosen."""
    values = st.query_params.get_all("period")
    if not values or "period" in st.session_state:
        return []
    try:
        days = [dt.date.fromisoformat(value) for value in values]
    except ValueError:
        return values
    if len(days) != 2 or not first <= days[0] <= days[1] <= last:
        return values
    return []


def voltage_label(kv: float) -> str:
    """A voltage level as the sidebar shows it: 0.4 kV, 10 kV, 110 kV."""
    return f"{kv:g} kV"


def sidebar_filters(identity: Identity) -> Filters | None:
    st.session_state[SHELL_KEY] = True
    st.session_state[IDENTITY_KEY] = identity
    choices = data.filter_choices()
    if choices["range"] is None:
        st.sidebar.warning(_("The warehouse holds no bills or tickets yet. Load exports on the Data page."))
        return None
    first, last = choices["range"]
    dims = choices["dimensions"]
    if identity.allowed_account_managers is not None:  # an account manager picks among their own accounts' places
        dims = data.manager_choices(identity.allowed_account_managers)
    region_options = [r for r in dims["region"] if identity.allowed_regions is None or r in identity.allowed_regions]
    region_of = data.centers_by_region()
    center_options = [c for c in dims["service_center"]
                      if (identity.allowed_service_centers is None or c in identity.allowed_service_centers)
                      and (identity.allowed_regions is None or region_of.get(c) in identity.allowed_regions)]
    dropped = _dropped_from_url("region", region_options) + _dropped_from_url("center", center_options)
    default = default_period(first, last)
    unusable = _unusable_period(first, last)
    if unusable:
        # Streamlit seeds a bound widget from the link whatever the session state says: this first run the picker
        # is unbound (so it starts at the default) and the link loses the period; from the next run on it is bound.
        del st.query_params["period"]
    with st.sidebar:
        st.subheader(_("Filters"))
        if unusable:
            st.warning(_("The period in the link cannot be used, so the last twelve months are shown:") + " "
                       + escape.markdown(" – ".join(unusable)), icon=":material/event_busy:")
        period = st.date_input(_("Period"), value=default, min_value=first, max_value=last, key="period",
                               bind=None if unusable else "query-params", format="YYYY-MM-DD",
                               help=_("Bills count by month, tickets by creation time, churn by closing date."))
        if dropped:
            st.warning(_("Not available to you, so left out:") + " " + ", ".join(map(escape.markdown, dropped)),
                       icon=":material/lock:")
        regions = st.multiselect(_("Region"), region_options, key="region", bind="query-params",
                                 placeholder=(_("All regions") if identity.allowed_regions is None
                                              else _("All your regions")))
        centers = st.multiselect(_("Service centre"), center_options, key="center", bind="query-params",
                                 placeholder=_("All service centres"))
        _coded_choices_from_url("tier", TIERS, TIER)
        _coded_choices_from_url("area", AREAS, AREA)
        tiers = st.multiselect(_("Tier"), list(TIERS), key="tier", bind="query-params",
                               format_func=lambda t: label(TIER, t), placeholder=_("All tiers"),
                               help=_("Company-wide tiers as of the period's end (in a breakdown, each week's, "
                                      "month's, quarter's or year's own end); retention and churn use each "
                                      "cohort's tier at its base."))
        industries = st.multiselect(_("Industry"), dims["industry"], key="industry", bind="query-params",
                                    placeholder=_("All industries"))
        areas = st.multiselect(_("Area"), list(AREAS), key="area", bind="query-params",
                               format_func=lambda a: label(AREA, a), placeholder=_("Urban, rural and remote"))
        voltages = st.multiselect(_("Voltage level"), dims["voltage_kv"], key="voltage", bind="query-params",
                                  format_func=voltage_label, placeholder=_("All voltage levels"))
        st.button(_("Reset filters"), on_click=_reset, args=(default,), icon=":material/restart_alt:", width="stretch")
        st.segmented_control(_("Language"), list(i18n.LANGUAGES), key=LANGUAGE_KEY, bind="query-params",
                             default=i18n.language(), format_func=lambda code: i18n.LANGUAGES[code], required=True)
    if isinstance(period, (tuple, list)) and len(period) == 2 and period[0] <= period[1]:
        start, end = period
    else:
        start, end = default
    filters = Filters(start=start, end=end, regions=regions or None, service_centers=centers or None,
                      tiers=tiers or None, industries=industries or None, areas=areas or None,
                      voltages=tuple(voltages) or None, allowed_regions=identity.allowed_regions,
                      allowed_service_centers=identity.allowed_service_centers,
                      allowed_account_managers=identity.allowed_account_managers)
    st.session_state[STATE_KEY] = filters
    return filters


SHELL_KEY = "shell_ran"
IDENTITY_KEY = "active_identity"


def current(page: str) -> Filters | None:
    """The sidebar's filters for a page, after checking the signed-in user may open it.

    A deep link opened before the app shell first ran on this server reaches the page file alone
    (Streamlit's pages/ folder fallback); it is sent through the shell and back."""
    if not st.session_state.get(SHELL_KEY):
        params = {key: st.query_params.get_all(key) for key in st.query_params}
        st.switch_page("app.py", query_params={**params, "goto": page})
    identity: Identity | None = st.session_state.get(IDENTITY_KEY)
    if identity is None or page not in identity.pages:
        st.error(_("This page is not available to you."), icon=":material/lock:")
        st.stop()
    return st.session_state.get(STATE_KEY)


def ticket_filters(f: Filters, key: str, types: bool = True) -> Filters:
    """Page-level ticket type (where it applies) and channel filters, also kept in the URL."""
    left, right = st.columns(2)
    if types:
        _coded_choices_from_url(f"{key}_type", TICKET_TYPES, TICKET_TYPE)
    _coded_choices_from_url(f"{key}_channel", CHANNELS, CHANNEL)
    chosen = left.multiselect(_("Ticket type"), list(TICKET_TYPES), key=f"{key}_type", bind="query-params",
                              format_func=lambda t: label(TICKET_TYPE, t),
                              placeholder=_("All ticket types")) if types else []
    channels = right.multiselect(_("Channel"), list(CHANNELS), key=f"{key}_channel", bind="query-params",
                                 format_func=lambda c: label(CHANNEL, c), placeholder=_("All channels"))
    return f.model_copy(update={"ticket_types": tuple(chosen) or None, "channels": tuple(channels) or None})
