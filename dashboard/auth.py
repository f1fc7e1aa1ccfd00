"""Who is signed in. Everything about identity goes through `signed_in()`, so tests can stand in for it."""

from __future__ import annotations

import streamlit as st

from dashboard import data
from dashboard.i18n import _
from dashboard.users import (EXAMPLE_FILE, LOCAL_ADMIN, USERS_FILE, Identity, Lockout, UsersFile, check_places,
                             identity_for, read_users, verify_password)

SESSION_KEY = "identity"


@st.cache_resource(show_spinner=False)
def _users(file_stamp: int) -> tuple[UsersFile, dict[str, str]]:
    path = USERS_FILE if USERS_FILE.exists() else EXAMPLE_FILE
    users = read_users(path)
    centers = data.centers_by_region()
    check_places(users, path, set(centers.values()), centers)
    return users, centers


def users_and_places() -> tuple[UsersFile, dict[str, str]]:
    path = USERS_FILE if USERS_FILE.exists() else EXAMPLE_FILE
    return _users(path.stat().st_mtime_ns + data.stamp())


@st.cache_resource(show_spinner=False)
def _lockout(max_failures: int, seconds: int) -> Lockout:
    return Lockout(max_failures, seconds)


def signed_in() -> Identity | None:
    """The signed-in identity, or None after drawing the sign-in form."""
    if SESSION_KEY in st.session_state:
        return st.session_state[SESSION_KEY]
    users, centers = users_and_places()
    if users.auth.mode == "none":
        return LOCAL_ADMIN
    if users.auth.mode == "oidc":
        return _oidc(users, centers)
    return _password_form(users, centers)


def _password_form(users: UsersFile, centers: dict[str, str]) -> None:
    lockout = _lockout(users.auth.max_failures, users.auth.lockout_seconds)
    st.title(_("Key Account Service Scorecard"))
    with st.form("sign_in"):
        name = st.text_input(_("User name"))
        password = st.text_input(_("Password"), type="password")
        submitted = st.form_submit_button(_("Sign in"), type="primary")
    if submitted:
        wait = lockout.locked_for(name)
        entry = users.users.get(name)
        if wait > 0:
            st.error(_("Too many failed attempts. Try again in {minutes} minutes.").format(minutes=max(1, round(wait / 60))))
        elif entry is not None and verify_password(entry.password_hash, password):
            lockout.succeeded(name)
            st.session_state[SESSION_KEY] = identity_for(name, entry, centers)
            st.rerun()
        else:
            lockout.failed(name)
            st.error(_("Unknown user name or wrong password."))
    return None


def _oidc(users: UsersFile, centers: dict[str, str]) -> Identity | None:
    if not st.user.is_logged_in:
        st.title(_("Key Account Service Scorecard"))
        st.button(_("Sign in with your company account"), on_click=st.login, type="primary")
        return None
    claim = st.user.get(users.auth.oidc_claim)
    match = next(((n, e) for n, e in users.users.items() if e.login and e.login == claim), None)
    if match is None:
        st.error(_("{claim} is signed in but has no role in the scorecard. Ask an administrator to add you.").format(claim=claim))
        st.button(_("Sign out"), on_click=st.logout)
        return None
    identity = identity_for(*match, centers)
    st.session_state[SESSION_KEY] = identity
    return identity


def sign_out() -> None:
    st.session_state.pop(SESSION_KEY, None)
    if st.user.is_logged_in:
        st.logout()


def sidebar_badge(identity: Identity) -> None:
    with st.sidebar:
        if identity is LOCAL_ADMIN:
            st.caption(_("Sign-in is off (demo mode): you see every region and page. "
                         "Set `mode` in users.toml to require sign-in."))
            return
        limits = ", ".join(identity.allowed_service_centers or identity.allowed_regions or ()) or _("all regions")
        st.caption(_("Signed in as **{name}** ({role}); {limits}.").format(
            name=identity.display_name, role=_(identity.role), limits=limits))
        st.button(_("Sign out"), on_click=sign_out, icon=":material/logout:")
