"""The scorecard's management routine on screen: owners, commentary, actions (督办), events and the audit trail, read
from and written to the application store (`store`), which checks every permission itself.

The store is a SQLite file beside the warehouse unless SCORECARD_STORE_URL names another database (any SQLAlchemy
URL, e.g. postgresql+psycopg://user:password@host/scorecard). It is opened, and migrated, once per process. The
pages call the functions here; none of them holds a query.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

import store
from dashboard import charts, data, escape
from dashboard.charts import event_kind, event_label
from dashboard.filters import IDENTITY_KEY
from dashboard.format import NO_VALUE
from dashboard.i18n import _
from dashboard.ui import downloads, metric_label
from metrics import Filters, scorecard
from store.models import ALL_REGIONS, EVENT_KINDS, MAX_COMMENT, MAX_EVENT, MAX_NOTES, MAX_TITLE, MAX_USER, STATUSES

STORE_URL_VARIABLE = "SCORECARD_STORE_URL"
_opened: dict[str, store.Store] = {}
_synced: dict[str, tuple] = {}
_lock = threading.Lock()


def default_url(warehouse: Path) -> str:
    """The zero-configuration store: store.sqlite beside the warehouse file (a load replaces only the warehouse)."""
    return f"sqlite:///{Path(warehouse).parent / 'store.sqlite'}"


def url() -> str:
    return os.environ.get(STORE_URL_VARIABLE) or default_url(data.WAREHOUSE)


def current() -> store.Store:
    """The store of this deployment, migrated, with the scorecard file's owners and targets taken in (a change to
    them is recorded in the audit trail once)."""
    where = url()
    with _lock:
        opened = _opened.get(where)
        if opened is None:
            opened = _opened[where] = store.open(where)
        config_file = scorecard.DEFAULT_FILE
        seen = (str(config_file), config_file.stat().st_mtime_ns)
        if _synced.get(where) != seen:
            owners, targets = scorecard.file_values(scorecard.load_config(config_file))
            opened.sync_file(store.FileValues(owners, targets), source=config_file.name)
            _synced[where] = seen
    return opened


def chart_events(start: dt.date, end: dt.date, regions: tuple[str, ...] | None, identity) -> pd.DataFrame:
    """The events a time chart of these dates and regions shows (columns event_date, region, kind, text), as the
    person may read them."""
    rows = current().events(identity, start, end, regions)
    columns = ["event_date", "region", "kind", "text"]
    return pd.DataFrame(rows, columns=columns)[columns]


# ----------------------------------------------------------------- on screen

MESSAGE_KEY = "store_message"


def identity():
    return st.session_state.get(IDENTITY_KEY)


def events_for(f: Filters) -> pd.DataFrame:
    """The events a page's time charts show for its filters (the person's readable regions, the window's dates)."""
    return chart_events(f.start, f.end, f.effective_regions, identity())


def events_of_region(when: pd.Series, region: str) -> pd.DataFrame:
    """The events an account's monthly charts show: of its region (and company-wide), over the months charted."""
    covered = charts.chart_range(when, 1)
    who = identity()
    if covered is None or pd.isna(region) or not store.reads_region(who, region):
        return chart_events(dt.date(1900, 1, 1), dt.date(1900, 1, 1), (), who).iloc[0:0]
    return chart_events(covered[0].date(), covered[1].date(), (region,), who)


def scope_of(f: Filters) -> str:
    """The region whose owners, commentary and actions the scorecard shows: its one region, else company-wide."""
    return scorecard.target_region(f) or ALL_REGIONS


def region_name(region: str) -> str:
    return _("Company-wide") if region == ALL_REGIONS else region


def shown_region(region: str) -> str:
    """A region for Markdown: the company-wide scope in words, a region's name (from the data) escaped."""
    return _("Company-wide") if region == ALL_REGIONS else escape.markdown(region)


def _say(kind: str, text: str) -> None:
    st.session_state[MESSAGE_KEY] = (kind, text)


def show_message() -> None:
    """What the last write said (kept across the rerun the form's callback caused)."""
    said = st.session_state.pop(MESSAGE_KEY, None)
    if said:
        kind, text = said
        (st.success if kind == "ok" else st.error)(
            text, icon=":material/check:" if kind == "ok" else ":material/block:")


def _attempt(done: str, write) -> None:
    try:
        write()
    except (store.PermissionDenied, store.InvalidEntry) as exc:
        _say("error", _("Not saved: {reason}").format(reason=escape.markdown(str(exc))))
    else:
        _say("ok", done)


def tile_notes(f: Filters, kpis: pd.DataFrame) -> dict[str, store.TileNote] | None:
    """Each KPI's owner, this month's comment and flags for the scorecard's region; None when the person reads no
    company-wide commentary and the scorecard covers more than one region."""
    scope, who = scope_of(f), identity()
    if not store.reads_region(who, scope):
        return None
    return store.tile_notes(current(), who, dict(zip(kpis["metric"], kpis["status"])), scope,
                            store.closed_month(f.end))


def routine_caption(f: Filters, notes) -> None:
    if notes is None:
        st.info(_("Choose one of your regions in the sidebar to see and write its commentary and actions."),
                icon=":material/edit_note:")
        return
    st.caption(_("Commentary for {month}, {region}. A red or amber KPI without a comment is marked; a red KPI "
                 "without an open action is flagged.").format(month=store.closed_month(f.end),
                                                                region=shown_region(scope_of(f))))


def tile_footer(metric: str, f: Filters, notes) -> None:
    """Under a KPI tile: owner, flags, this month's comment, and the owner's comment box and history."""
    if notes is None:
        return
    note = notes[metric]
    owner = escape.markdown(note.owner) if note.owner else _("no owner")
    flags = []
    if note.no_comment_yet:
        flags.append(":orange-badge[" + _("No comment yet") + "]")
    if note.red_without_action:
        flags.append(":red-badge[" + _("No open action") + "]")
    st.caption(_("Owner: {owner}").format(owner=owner) + ("  \n" + " ".join(flags) if flags else ""))
    if note.comment:
        st.caption("💬 " + escape.markdown(note.comment["body"]))
    scope, period = scope_of(f), store.closed_month(f.end)
    row = st.container(horizontal=True, gap="small")
    if note.may_write:
        with row.popover(_("Comment"), icon=":material/edit:", key=f"pop_comment_{metric}"):
            with st.form(f"comment_form_{metric}", border=False):
                st.text_area(_("Why it moved, for {month}").format(month=period), key=f"comment_text_{metric}",
                             value=note.comment["body"] if note.comment else "", max_chars=MAX_COMMENT)
                st.form_submit_button(_("Save comment"), type="primary", key=f"comment_save_{metric}",
                                      on_click=_save_comment, args=(metric, period, scope))
    with row.popover(_("History"), icon=":material/history:", key=f"pop_history_{metric}"):
        history(metric, scope)


def _save_comment(metric: str, period: str, region: str) -> None:
    text = st.session_state.get(f"comment_text_{metric}", "")
    _attempt(_("Comment saved: {kpi}, {month}.").format(kpi=metric_label(metric), month=period),
             lambda: current().write_comment(identity(), metric, period, region, text))


def history(metric: str, region: str) -> None:
    """Earlier months' comments and the actions of a KPI in a region, newest first."""
    said = current().comments(identity(), metric=metric, region=region, limit=24)
    if not said:
        st.caption(_("No comments yet."))
    for comment in said:
        st.markdown(f"**{comment['period']}** · {escape.markdown(comment['author'])}  \n"
                    f"{escape.markdown(comment['body'])}")
    acted = current().actions(identity(), metric=metric, region=region, limit=50)
    if acted:
        st.caption(_("Actions"))
        st.dataframe(action_table(acted), hide_index=True, placeholder=NO_VALUE)


def action_table(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["id", "metric", "region", "title", "owner", "due", "status", "notes"])
    return frame.assign(metric=frame["metric"].map(metric_label), region=frame["region"].map(region_name),
                        status=frame["status"].map(status_label)).rename(columns={
        "id": _("No."), "metric": _("KPI"), "region": _("Region"), "title": _("Action"), "owner": _("Owner"),
        "due": _("Due"), "status": _("Status"), "notes": _("Notes")})


def actions_section(f: Filters, kpis: pd.DataFrame, today: dt.date | None = None) -> None:
    """Open and overdue actions of the scorecard's region(s), a form for a new one and for progress on one."""
    who, s = identity(), current()
    today = today or dt.date.today()
    st.subheader(_("Actions"))
    regions = f.effective_regions
    open_ = [a for a in s.actions(who, statuses=("open",))
             if regions is None or a["region"] in regions or a["region"] == ALL_REGIONS and who.allowed_regions is None]
    late = store.overdue(open_, today)
    st.caption(_("{open} open, {late} overdue (due before {today}).").format(open=len(open_), late=len(late),
                                                                             today=today.isoformat()))
    if late:
        st.markdown(":red-badge[" + _("Overdue") + "]")
        st.dataframe(action_table(late), hide_index=True, placeholder=NO_VALUE, key="actions_overdue")
    if open_:
        st.dataframe(action_table(open_), hide_index=True, placeholder=NO_VALUE, key="actions_open")
    scope = scope_of(f)
    writable = [m for m in kpis["metric"] if store.reads_region(who, scope) and s.may_write(who, m, scope)]
    if not writable:
        return
    left, right = st.columns(2)
    with left.expander(_("New action for {region}").format(region=shown_region(scope)), icon=":material/add_task:"):
        with st.form("new_action", border=False):
            st.selectbox(_("KPI"), writable, format_func=metric_label, key="action_metric")
            st.text_input(_("Action"), max_chars=MAX_TITLE, key="action_title")
            st.text_input(_("Owner"), value=who.username, max_chars=MAX_USER, key="action_owner")
            st.date_input(_("Due"), value=today + dt.timedelta(days=30), key="action_due")
            st.text_area(_("Notes"), max_chars=MAX_NOTES, key="action_notes")
            st.form_submit_button(_("Add action"), type="primary", key="action_add", on_click=_add_action,
                                  args=(scope,))
    mine = [a for a in open_ if s.may_write(who, a["metric"], a["region"]) or a["owner"] == who.username]
    if mine:
        with right.expander(_("Update an action"), icon=":material/task_alt:"):
            with st.form("update_action", border=False):
                st.selectbox(_("Action"), [a["id"] for a in mine], key="update_id",
                             format_func=lambda i: next(f"{a['id']} · {a['title']}" for a in mine if a["id"] == i))
                st.selectbox(_("Status"), STATUSES, format_func=status_label, key="update_status")
                st.text_area(_("Notes"), max_chars=MAX_NOTES, key="update_notes")
                st.form_submit_button(_("Save"), type="primary", key="action_update", on_click=_update_action)


def _add_action(region: str) -> None:
    get: Callable[..., Any] = st.session_state.get  # the form's widgets: their values are whatever they hold
    _attempt(_("Action added."), lambda: current().add_action(
        identity(), get("action_metric"), region, get("action_title", ""), get("action_owner", ""), get("action_due"),
        get("action_notes", "")))


def _update_action() -> None:
    get: Callable[..., Any] = st.session_state.get
    notes = get("update_notes") or None
    _attempt(_("Action updated."), lambda: current().update_action(identity(), get("update_id"),
                                                                    status=get("update_status"), notes=notes))


def events_section(f: Filters) -> None:
    """The events of the period (drawn on the time charts) and, for admins and leads, a form to add one."""
    who = identity()
    found = chart_events(f.start, f.end, f.effective_regions, who)
    with st.expander(_("Events ({count})").format(count=len(found)), icon=":material/event_note:"):
        st.caption(_("Dated notes (typhoon, grid fault, tariff change, holiday, system change) drawn on every time "
                     "chart whose range and region they fall in."))
        if not found.empty:
            shown = found.assign(region=found["region"].map(region_name),
                                 kind=found["kind"].map(event_kind))
            st.dataframe(shown.rename(columns={"event_date": _("Date"), "region": _("Region"), "kind": _("Kind"),
                                               "text": _("Event")}), hide_index=True, key="events_table",
                         placeholder=NO_VALUE)
        if who.role not in store.WRITERS_OF_EVENTS:
            return
        regions = list(who.allowed_regions) if who.allowed_regions is not None else \
            [ALL_REGIONS, *data.filter_choices()["dimensions"]["region"]]
        with st.form("new_event", border=False):
            st.date_input(_("Date"), value=f.end, key="event_date")
            st.selectbox(_("Region"), regions, format_func=region_name, key="event_region")
            st.selectbox(_("Kind"), EVENT_KINDS, format_func=event_kind, key="event_kind")
            st.text_input(_("Event"), max_chars=MAX_EVENT, key="event_text")
            st.form_submit_button(_("Add event"), key="event_add", on_click=_add_event)


def status_label(status: str) -> str:
    return {"open": _("open"), "done": _("done"), "cancelled": _("cancelled")}.get(status, status)


def _add_event() -> None:
    get: Callable[..., Any] = st.session_state.get
    _attempt(_("Event added."), lambda: current().add_event(identity(), get("event_date"), get("event_region"),
                                                            get("event_kind"), get("event_text", "")))


def admin_section(kpis: pd.DataFrame) -> None:
    """Administrators: set owners, and see and download the audit trail."""
    who = identity()
    if who is None or who.role != "admin":
        return
    s = current()
    with st.expander(_("Owners (administrators)"), icon=":material/manage_accounts:"):
        set_here = s.owners(who)
        from_file = [{"metric": m, "region": r, "owner": u, "updated_by": "scorecard.toml"}
                     for (m, r), u in s.file_owners.items()]
        listed = pd.DataFrame([*set_here, *from_file], columns=["metric", "region", "owner", "updated_by"])
        if not listed.empty:
            st.dataframe(listed.assign(metric=listed["metric"].map(metric_label),
                                       region=listed["region"].map(region_name)).rename(columns={
                "metric": _("KPI"), "region": _("Region"), "owner": _("Owner"), "updated_by": _("Set by")}),
                hide_index=True, placeholder=NO_VALUE, key="owners_table")
        with st.form("set_owner", border=False):
            st.selectbox(_("KPI"), list(kpis["metric"]), format_func=metric_label, key="owner_metric")
            st.selectbox(_("Region"), [ALL_REGIONS, *data.filter_choices()["dimensions"]["region"]],
                         format_func=region_name, key="owner_region")
            st.text_input(_("Owner (user name; empty to clear)"), max_chars=MAX_USER, key="owner_name")
            st.form_submit_button(_("Save owner"), key="owner_save", on_click=_set_owner)
    with st.expander(_("Audit trail (administrators)"), icon=":material/policy:"):
        trail = pd.DataFrame(s.audit_trail(who),
                             columns=["id", "at", "actor", "entity", "entity_key", "change", "old_value", "new_value"])
        st.caption(_("Every change to owners, commentary, actions, events and targets: who, when (UTC) and the old "
                     "value."))
        st.dataframe(trail.rename(columns={
            "id": _("No."), "at": _("When (UTC)"), "actor": _("Who"), "entity": _("What"), "entity_key": _("Which"),
            "change": _("Change"), "old_value": _("Old value"), "new_value": _("New value")}),
            hide_index=True, placeholder=NO_VALUE, key="audit_table", height=300)
        downloads(trail, "audit_trail", tables=True)


def _set_owner() -> None:
    get: Callable[..., Any] = st.session_state.get
    _attempt(_("Owner saved."), lambda: current().set_owner(identity(), get("owner_metric"), get("owner_region"),
                                                            get("owner_name") or None))


def outlier_events(outliers: pd.DataFrame, events: pd.DataFrame) -> None:
    """Under the complaints chart: for each month that stands out, the events near it (a month either side)."""
    marked = outliers.loc[outliers["stands_out"], "month"] if "stands_out" in outliers else []
    if events.empty or not len(marked):
        return
    rows = events.to_dict("records")
    for month, near in store.events_near(rows, [pd.Timestamp(m).date() for m in marked]).items():
        if near:
            st.caption(_("Near {month}:").format(month=month.strftime("%Y-%m")) + " " +
                       "; ".join(escape.markdown(event_label(e)) for e in near))
