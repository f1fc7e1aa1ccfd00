"""Who is signed in. Everything about identity goes through `signed_in()`, so tests can stand in for it.

The users file is read again at every script run (cheap: it is parsed only when its bytes change), so a removed
user is signed out and a changed role or region takes effect at that user's next interaction. Nothing here lives
in st.cache_*: any client can clear those caches with a websocket message.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass

import streamlit as st

from dashboard import data, escape
from dashboard.filters import IDENTITY_KEY
from dashboard.i18n import _
from dashboard.lockout import MAX_NAME_CHARS, Lockout, LockoutUnavailable, capped_name
from dashboard.users import (
    LOCAL_ADMIN,
    LOCKOUT_NAME,
    MARKER_NAME,
    MAX_PASSWORD_CHARS,
    USERS_FILE,
    Identity,
    SignInSetup,
    UsersFile,
    entry_proof,
    identity_for,
    read_setup,
    unknown_places,
    verify_password,
)

SESSION_KEY = "identity"
PROOF_KEY = "identity_proof"
NOTICE_KEY = "sign_in_notice"
log = logging.getLogger(__name__)

@dataclass
class _Seen:
    """What this process last read from the users file, and what it has logged (each problem once)."""

    key: tuple | None = None
    setup: SignInSetup | None = None
    logged: str | None = None
    missing: dict[str, list[str]] | None = None


_seen = _Seen()
_seen_lock = threading.Lock()


def setup() -> SignInSetup:
    """The sign-in set-up as the users file says now. A working set-up is kept until the file or its marker changes;
    a closed one is read again at every run (its cause may be outside the file)."""
    path = USERS_FILE
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        digest = None
    key = (str(path), digest, (path.parent / MARKER_NAME).exists())
    with _seen_lock:
        if _seen.key == key and _seen.setup is not None:
            return _seen.setup
    found = read_setup(path)
    with _seen_lock:
        if found.closed:
            _seen.key = None
            if _seen.logged != found.detail:
                _seen.logged = found.detail
                log.error("Sign-in is closed: %s", found.detail)
        else:
            _seen.key, _seen.setup, _seen.logged = key, found, None
    return found


def places_missing(users: UsersFile) -> dict[str, list[str]]:
    """Per user, the regions and service centres of their entry that the warehouse does not have (logged once)."""
    centers = data.centers_by_region()
    missing = unknown_places(users, set(centers.values()), centers, set(data.manager_names()))
    with _seen_lock:
        if _seen.missing != missing:
            _seen.missing = missing
            for name, places in missing.items():
                log.warning("%s: users.%s names %s, not in the warehouse; that user sees nothing until it is fixed.",
                            USERS_FILE, name, ", ".join(places))
    return missing


def _warn_places_missing() -> None:
    """What a user whose entry names a region, service centre or account manager the warehouse lacks is told."""
    st.warning(_("Your account names a region, service centre or account manager this warehouse does not have, so "
                 "you see nothing. Ask an administrator to correct the users file."))


def _forget_session() -> None:
    for key in (SESSION_KEY, PROOF_KEY, IDENTITY_KEY):
        st.session_state.pop(key, None)


def signed_in() -> Identity | None:
    """The signed-in identity, or None after drawing the sign-in form or the message that says why not."""
    found = setup()
    if found.closed:
        _forget_session()
        st.title(_("Key Account Service Scorecard"))
        st.error(_("The scorecard is closed until its administrator fixes the sign-in set-up."), icon=":material/lock:")
        st.caption(_("For the administrator: {problem} The server log has the details.").format(
            problem=escape.markdown(found.closed)))
        return None
    stored = st.session_state.get(SESSION_KEY)
    if found.mode == "none":
        # sign-in off: everyone is the local administrator; an identity set by a test stands in for a signed-in user
        return stored if isinstance(stored, Identity) else LOCAL_ADMIN
    if found.mode == "oidc":
        return _oidc(found.users)
    if isinstance(stored, Identity):
        identity = _still_allowed(stored, found.users)
        if identity is not None:
            return identity
    elif stored is not None:
        _forget_session()
    _password_form(found)
    return None


def _still_allowed(stored: Identity, users: UsersFile) -> Identity | None:
    """The stored identity with the rights the users file gives it now, or None (signed out, with a notice)."""
    entry = users.users.get(stored.username)
    proof = st.session_state.get(PROOF_KEY)
    notice = None
    if entry is None:
        notice = _("You were signed out: your account is no longer in the users file.")
    elif proof != ("password", entry_proof(entry)):
        notice = _("You were signed out: your password was changed or sign-in was set up again. Sign in again.")
    elif stored.username in places_missing(users):
        notice = _("You were signed out: your account names a region, service centre or account manager this "
                   "warehouse does not have. Ask an administrator to correct the users file.")
    if notice is not None or entry is None:
        _forget_session()
        st.session_state[NOTICE_KEY] = notice
        return None
    identity = identity_for(stored.username, entry, data.centers_by_region())
    if identity != stored:
        st.session_state[SESSION_KEY] = identity
        st.toast(_("Your role or regions were changed by an administrator; the new ones apply now."))
    return identity


def _password_form(found: SignInSetup) -> None:
    users = found.users
    st.title(_("Key Account Service Scorecard"))
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.info(notice, icon=":material/logout:")
    with st.form("sign_in"):
        name = st.text_input(_("User name"), max_chars=MAX_NAME_CHARS)
        password = st.text_input(_("Password"), type="password", max_chars=MAX_PASSWORD_CHARS)
        submitted = st.form_submit_button(_("Sign in"), type="primary")
    if not submitted:
        return None
    name = capped_name(name)
    lockout = Lockout(USERS_FILE.parent / LOCKOUT_NAME, users.auth.max_failures, users.auth.lockout_seconds)
    try:
        wait = lockout.attempt(name)
    except LockoutUnavailable as exc:
        log.error("Sign-in refused: the failed sign-in store cannot be used: %s", exc)
        st.error(_("Sign-in is unavailable: the server cannot count failed attempts. Ask an administrator "
                   "(the server log says why)."))
        return None
    if wait > 0:
        st.error(_("Too many failed attempts. Try again in {minutes} minutes.").format(
            minutes=max(1, round(wait / 60))))
        return None
    entry = users.users.get(name)
    # Verified first, also for an unknown name: one argon2 verification whoever asks.
    if not verify_password(entry.password_hash if entry else None, password) or entry is None:
        st.error(_("Unknown user name or wrong password."))
        return None
    lockout.succeeded(name)
    if name in places_missing(users):
        _warn_places_missing()
        return None
    st.session_state[SESSION_KEY] = identity_for(name, entry, data.centers_by_region())
    st.session_state[PROOF_KEY] = ("password", entry_proof(entry))
    st.rerun()


def _oidc(users: UsersFile) -> Identity | None:
    """Matched again at every run against the current users file, from the identity provider's claim."""
    if not st.user.is_logged_in:
        _forget_session()
        st.title(_("Key Account Service Scorecard"))
        st.button(_("Sign in with your company account"), on_click=st.login, type="primary")
        return None
    claim = st.user.get(users.auth.oidc_claim)
    match = next(((n, e) for n, e in users.users.items() if e.login and e.login == claim), None)
    if match is None or match[0] in places_missing(users):
        _forget_session()
        if match is None:
            st.error(_("{claim} is signed in but has no role in the scorecard. Ask an administrator to add "
                       "you.").format(claim=escape.markdown(claim)))
        else:
            _warn_places_missing()
        st.button(_("Sign out"), on_click=st.logout)
        return None
    identity = identity_for(*match, data.centers_by_region())
    st.session_state[SESSION_KEY] = identity
    return identity


def sign_out() -> None:
    _forget_session()
    if st.user.is_logged_in:
        st.logout()


def sidebar_badge(identity: Identity) -> None:
    with st.sidebar:
        if identity is LOCAL_ADMIN:
            st.caption(_("Sign-in is off (demo mode): you see every region and page. "
                         "Set `mode` in users.toml to require sign-in."))
            return
        limits = ", ".join(identity.allowed_service_centers or identity.allowed_regions or ()) or _("all regions")
        if identity.allowed_account_managers is not None:
            limits = _("the accounts of {managers}").format(managers=", ".join(identity.allowed_account_managers))
        st.caption(_("Signed in as **{name}** ({role}); {limits}.").format(
            name=escape.markdown(identity.display_name),
            role=_("Account manager") if identity.role == "account_manager" else _(identity.role),
            limits=escape.markdown(limits)))
        if identity.can_import or "data" in identity.pages:
            found = setup()
            for name, places in (places_missing(found.users).items() if found.mode != "none" else ()):
                st.warning(_("users.{name} names {places}, which this warehouse does not have: that user sees "
                             "nothing until the users file is corrected.").format(
                    name=name, places=escape.markdown(", ".join(places))))
        st.button(_("Sign out"), on_click=sign_out, icon=":material/logout:")
