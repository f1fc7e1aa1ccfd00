"""Sign-in fails closed: lockout no client can reset, the same work for every name, rights re-read from the users
file at each interaction, and no state of that file (or restart) that opens the app once sign-in has been on."""

from __future__ import annotations

import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import auth, data, users
from dashboard.lockout import MAX_NAME_CHARS, Lockout
from dashboard.users import LOCKOUT_NAME, MARKER_NAME, hash_password, read_users

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
REGION = "台州"
PASSWORD = "correct horse battery"
CLOSED = "The scorecard is closed until its administrator fixes the sign-in set-up."
_HASH = hash_password(PASSWORD)


@pytest.fixture(autouse=True)
def demo_warehouse(demo_db, monkeypatch):
    monkeypatch.setattr(data, "WAREHOUSE", demo_db)


def users_text(mode: str | None = "password", regions: str = f'["{REGION}"]', extra: str = "") -> str:
    auth_section = f'[auth]\nmode = "{mode}"\nmax_failures = 3\nlockout_seconds = 600\n' if mode else ""
    return f"""{auth_section}
[users.li_na]
role = "lead"
regions = {regions}
password_hash = "{_HASH}"

[users.admin]
role = "admin"
password_hash = "{_HASH}"
{extra}"""


@pytest.fixture
def users_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "users.toml"
    path.write_text(users_text(), encoding="utf-8")
    monkeypatch.setattr(auth, "USERS_FILE", path)
    return path


def app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=120)


def sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def next_interaction(at: AppTest) -> AppTest:
    """The user's next click. A served app runs app.py, the shell that checks who is signed in, at every interaction;
    AppTest resets Streamlit to its pages/ folder mode before each run and would run the page file alone, so the
    page to open is set to none: Streamlit then runs the main script, as a served app does."""
    at._page_hash = at._finished_page_script_hash = ""
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def signed_in_as(at: AppTest) -> str | None:
    identity = at.session_state.get(auth.SESSION_KEY)
    return identity.username if identity is not None else None


def shows_data(at: AppTest) -> bool:
    return bool(at.dataframe) or bool(at.metric)


def errors(at: AppTest) -> str:
    return " ".join(e.value for e in at.error)


# --- lockout -------------------------------------------------------------------------------------------------

def test_lockout_survives_cache_clears_and_new_sessions(users_file):
    for _ in range(3):
        sign_in(app().run(), "li_na", "guess")
        # what a websocket BackMsg clear_cache does on the server, after every guess
        st.cache_data.clear()
        st.cache_resource.clear()
    at = sign_in(app().run(), "li_na", PASSWORD)  # right password, new session: still locked
    assert "Too many failed attempts" in errors(at)
    assert signed_in_as(at) is None and not shows_data(at)
    assert (users_file.parent / LOCKOUT_NAME).exists()
    other = sign_in(app().run(), "admin", PASSWORD)  # the lock is per name
    assert signed_in_as(other) == "admin"


def test_lockout_survives_a_restart_of_the_process_state(users_file, monkeypatch):
    for _ in range(3):
        sign_in(app().run(), "li_na", "guess")
    monkeypatch.setattr(auth, "_seen", auth._Seen())  # what a new process starts with
    assert "Too many failed attempts" in errors(sign_in(app().run(), "li_na", PASSWORD))


def test_parallel_attempts_cannot_pass_the_limit(tmp_path):
    lockout = Lockout(tmp_path / "failures.sqlite", max_failures=5, seconds=600)
    results: list[float] = []
    threads = [threading.Thread(target=lambda: results.append(lockout.attempt("li_na"))) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count(0.0) == 5 and all(r > 0 for r in results if r != 0.0)


def test_long_names_are_capped_before_counting_and_the_store_is_bounded(tmp_path):
    now = [1000.0]
    lockout = Lockout(tmp_path / "failures.sqlite", max_failures=3, seconds=60, clock=lambda: now[0], max_names=50)
    # names that differ only after the cap are one name
    for tail in "abc":
        assert lockout.attempt("x" * MAX_NAME_CHARS + tail * 100_000) == 0
    assert lockout.attempt("x" * MAX_NAME_CHARS) > 0
    # 200 more names of 100,000 characters each: the store keeps at most 50, and the locked name stays locked
    for i in range(200):
        lockout.attempt(f"{i:04d}" + "y" * 100_000)
    assert lockout.names_held() == 50
    assert lockout.attempt("x" * MAX_NAME_CHARS) > 0
    assert (tmp_path / "failures.sqlite").stat().st_size < 100_000
    # entries expire: a minute after the last failure the name is free and expired names are gone
    now[0] += 61
    assert lockout.attempt("x" * MAX_NAME_CHARS) == 0
    assert lockout.names_held() == 1


def test_store_that_cannot_be_written_refuses_sign_in(users_file):
    (users_file.parent / LOCKOUT_NAME).mkdir()  # not a database: every attempt fails to be counted
    at = sign_in(app().run(), "li_na", PASSWORD)
    assert "Sign-in is unavailable" in errors(at)
    assert signed_in_as(at) is None and not shows_data(at)


class CountingHasher:
    """The real hasher, recording which hash each verification was made against."""

    def __init__(self, real) -> None:
        self.real, self.verified = real, []

    def hash(self, password: str) -> str:
        return self.real.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        self.verified.append(password_hash)
        return self.real.verify(password_hash, password)


def test_unknown_and_known_names_do_the_same_hashing_work(users_file, monkeypatch):
    users_file.write_text(users_text(extra='\n[users.no_password]\nrole = "analyst"\n'
                                           '\n[users.bad_hash]\nrole = "analyst"\npassword_hash = "not-a-hash"\n'),
                          encoding="utf-8")
    hasher = CountingHasher(users._hasher)
    monkeypatch.setattr(users, "_hasher", hasher)
    stand_in = users._stand_in_hash()
    for name in ("nobody", "li_na", "no_password", "bad_hash"):
        hasher.verified.clear()
        at = sign_in(app().run(), name, "wrong password")
        assert "Unknown user name or wrong password." in errors(at)
        # exactly one argon2 verification each ("not-a-hash" is refused before any hashing, then the stand-in)
        assert [h for h in hasher.verified if h.startswith("$argon2")] == [_HASH if name == "li_na" else stand_in], name
    # the stand-in never lets anyone in, whatever they type
    assert not users.verify_password(None, "") and not users.verify_password("", "x")


# --- the users file, and the deployment's memory that sign-in was on -------------------------------------------

BREAKS = {
    "emptied": lambda path: path.write_text("", encoding="utf-8"),
    "deleted": lambda path: path.unlink(),
    "not TOML": lambda path: path.write_text('[auth\nmode = "password"\n', encoding="utf-8"),
    "bad entry": lambda path: path.write_text(users_text(extra='\n[users.x]\nrole = "boss"\n'), encoding="utf-8"),
    "mode left out": lambda path: path.write_text(users_text(mode=None), encoding="utf-8"),
    "binary": lambda path: path.write_bytes(b"\xff\xfe\x00garbage"),
}


@pytest.mark.parametrize("damage", list(BREAKS))
def test_users_file_damaged_after_password_mode_keeps_the_app_closed(users_file, monkeypatch, damage):
    assert signed_in_as(sign_in(app().run(), "li_na", PASSWORD)) == "li_na"
    assert (users_file.parent / MARKER_NAME).read_text(encoding="utf-8").strip() == "password"
    BREAKS[damage](users_file)
    for restarted in (False, True):
        if restarted:
            monkeypatch.setattr(auth, "_seen", auth._Seen())
        at = app().run()
        assert not at.exception, [e.value for e in at.exception]
        assert errors(at) == CLOSED
        assert not shows_data(at) and not at.text_input and not at.sidebar.button
        assert "Sign-in is off" not in " ".join(c.value for c in at.sidebar.caption)
        assert "Traceback" not in " ".join(c.value for c in at.caption)
        assert "For the administrator" in " ".join(c.value for c in at.caption)


def test_a_signed_in_session_is_closed_too_when_the_file_breaks(users_file):
    at = sign_in(app().run(), "li_na", PASSWORD)
    assert shows_data(at)
    users_file.write_text("", encoding="utf-8")
    next_interaction(at)
    assert errors(at) == CLOSED and not shows_data(at) and signed_in_as(at) is None


def test_broken_file_shows_a_message_never_a_traceback_even_without_the_marker(users_file):
    users_file.write_text('[auth]\nmode = "password\n', encoding="utf-8")
    at = app().run()
    assert not at.exception and errors(at) == CLOSED
    admin_note = " ".join(c.value for c in at.caption)
    assert "users.toml cannot be used: not valid TOML" in admin_note and str(users_file.parent) not in admin_note


def test_only_an_explicit_mode_none_turns_sign_in_off(users_file):
    sign_in(app().run(), "li_na", PASSWORD)
    users_file.write_text(users_text(mode="none"), encoding="utf-8")
    at = app().run()
    assert shows_data(at) and "Sign-in is off" in " ".join(c.value for c in at.sidebar.caption)
    assert not (users_file.parent / MARKER_NAME).exists()
    users_file.unlink()  # now that it was turned off on purpose, no file means the demo mode again
    assert shows_data(app().run())


def test_without_a_users_file_sign_in_is_off_and_the_example_is_never_read(tmp_path, monkeypatch):
    monkeypatch.setattr(auth, "USERS_FILE", tmp_path / "users.toml")
    monkeypatch.setattr(users, "EXAMPLE_FILE", tmp_path / "missing.example.toml")
    at = app().run()
    assert not at.exception and shows_data(at)


# --- rights re-read at the next interaction -------------------------------------------------------------------

def test_removed_user_is_signed_out_at_the_next_interaction(users_file):
    at = sign_in(app().run(), "li_na", PASSWORD)
    assert at.dataframe[0].value["Region"].tolist() == [REGION]
    users_file.write_text(users_text().replace("[users.li_na]", "[users.someone_else]"), encoding="utf-8")
    next_interaction(at)
    assert signed_in_as(at) is None and not shows_data(at)
    assert any("no longer in the users file" in i.value for i in at.info)


def test_changed_regions_and_role_take_effect_at_the_next_interaction(users_file):
    at = sign_in(app().run(), "li_na", PASSWORD)
    users_file.write_text(users_text(regions='["宁波"]'), encoding="utf-8")
    next_interaction(at)
    assert at.session_state[auth.SESSION_KEY].allowed_regions == ("宁波",)
    assert at.dataframe[0].value["Region"].tolist() == ["宁波"]
    users_file.write_text(users_text().replace('role = "lead"\nregions = ["台州"]', 'role = "executive"'),
                          encoding="utf-8")
    next_interaction(at)
    assert at.session_state[auth.SESSION_KEY].role == "executive"
    assert len(at.dataframe[0].value["Region"]) > 1


def test_password_reset_signs_the_session_out(users_file):
    at = sign_in(app().run(), "li_na", PASSWORD)
    users_file.write_text(users_text().replace(_HASH, hash_password("a brand new password"), 1), encoding="utf-8")
    next_interaction(at)
    assert signed_in_as(at) is None and any("password was changed" in i.value for i in at.info)


def test_a_stored_identity_without_proof_is_not_trusted_in_password_mode(users_file):
    at = app()
    at.session_state[auth.SESSION_KEY] = users.Identity("admin", "Admin", "admin", None, None)
    at.run()
    assert signed_in_as(at) is None and not shows_data(at) and at.text_input


# --- the users file is a template, not a gate (issue 14) ------------------------------------------------------

def test_unknown_region_with_sign_in_on_is_a_warning_and_that_user_sees_nothing(users_file):
    users_file.write_text(users_text(extra=f'\n[users.x]\nrole = "lead"\nregions = ["Atlantis"]\npassword_hash = "{_HASH}"\n'),
                          encoding="utf-8")
    x = sign_in(app().run(), "x", PASSWORD)
    assert not x.exception and signed_in_as(x) is None and not shows_data(x)
    assert any("does not have, so you see nothing" in w.value for w in x.warning)
    lead = sign_in(app().run(), "li_na", PASSWORD)
    assert lead.dataframe[0].value["Region"].tolist() == [REGION]
    admin = sign_in(app().run(), "admin", PASSWORD)
    assert any("users.x names ` Atlantis `" in w.value for w in admin.sidebar.warning)


def test_app_starts_on_the_users_own_data_with_the_example_as_users_file(hand_db, tmp_path, monkeypatch):
    # regions A and B only: the example's 台州 is unknown. Sign-in off: the app opens; on: li_na sees nothing.
    monkeypatch.setattr(data, "WAREHOUSE", hand_db)
    path = tmp_path / "users.toml"
    path.write_text(users.EXAMPLE_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(auth, "USERS_FILE", path)
    at = app().run()
    assert not at.exception and shows_data(at)
    path.write_text(users_text(), encoding="utf-8")
    lead = sign_in(app().run(), "li_na", PASSWORD)
    assert not lead.exception and signed_in_as(lead) is None and lead.warning
    assert shows_data(sign_in(app().run(), "admin", PASSWORD))


# --- the users file and its command line ----------------------------------------------------------------------

def test_user_names_in_the_file_are_limited(tmp_path):
    path = tmp_path / "users.toml"
    path.write_text(f'[users.{"n" * 65}]\nrole = "admin"\n', encoding="utf-8")
    with pytest.raises(users.UsersFileError, match="must have 1 to 64 characters"):
        read_users(path)


def test_cli_starts_a_new_file_in_password_mode_and_never_writes_a_mode_it_was_not_given(tmp_path):
    def add(path: Path, name: str) -> None:
        done = subprocess.run([sys.executable, "-m", "dashboard.users", "--file", str(path), "add", name,
                               "--role", "admin", "--password-stdin"], input="a long password\n", text=True,
                              capture_output=True, cwd=ROOT)
        assert done.returncode == 0, done.stderr

    fresh = tmp_path / "fresh.toml"
    add(fresh, "admin")
    assert read_users(fresh).auth.mode == "password"
    no_mode = tmp_path / "no_mode.toml"
    no_mode.write_text('[users.zhou]\nrole = "executive"\n', encoding="utf-8")
    add(no_mode, "admin")
    assert not read_users(no_mode).mode_is_set and set(read_users(no_mode).users) == {"zhou", "admin"}
    broken = tmp_path / "broken.toml"
    broken.write_text("[auth\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "dashboard.users", "--file", str(broken), "list"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode != 0 and "not valid TOML" in done.stderr and "Traceback" not in done.stderr


# --- hardened defaults ----------------------------------------------------------------------------------------

def test_streamlit_config_hides_error_details_and_listens_on_loopback():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"
    # as Streamlit applies it (run from the repository, like `streamlit run app.py`): no message, type or traceback
    shown = AppTest.from_string("raise ValueError('/srv/scorecard/secret.py: wrong')").run().exception[0]
    assert "secret" not in shown.message and not shown.stack_trace and not shown.proto.type
    assert config["server"]["address"] == "127.0.0.1"
    assert config["server"]["enableXsrfProtection"] is True and config["server"]["enableCORS"] is True


# --- the account_manager role (issue 18) ---------------------------------------------------------------------

MANAGER = "台州客户经理1号"  # a manager the demo warehouse's customers name


def test_an_account_manager_without_their_manager_names_is_a_users_file_error_and_keeps_the_app_closed(users_file):
    users_file.write_text(users_text(extra=f'\n[users.wang_fang]\nrole = "account_manager"\npassword_hash = "{_HASH}"\n'),
                          encoding="utf-8")
    with pytest.raises(users.UsersFileError, match="users.wang_fang.*must list account_managers"):
        read_users(users_file)
    at = app().run()
    assert CLOSED in errors(at) and not shows_data(at)
    # and a manager mapping on another role is refused too
    users_file.write_text(users_text(extra=f'\n[users.x]\nrole = "lead"\nregions = ["{REGION}"]\n'
                                           f'account_managers = ["{MANAGER}"]\npassword_hash = "{_HASH}"\n'),
                          encoding="utf-8")
    with pytest.raises(users.UsersFileError, match="users.x.*only an account_manager"):
        read_users(users_file)


def test_an_account_manager_signs_in_to_their_own_portfolio(users_file, demo):
    users_file.write_text(users_text(extra=f'\n[users.wang_fang]\nrole = "account_manager"\ndisplay_name = "Wang Fang"\n'
                                           f'account_managers = ["{MANAGER}"]\npassword_hash = "{_HASH}"\n'),
                          encoding="utf-8")
    at = sign_in(app().run(), "wang_fang", PASSWORD)
    assert signed_in_as(at) == "wang_fang"
    at = next_interaction(at)
    assert at.title[0].value == "Account managers"
    assert at.dataframe[0].value["Account manager"].tolist() == [MANAGER]
    mine = {r[0] for r in demo.execute("SELECT customer_id FROM customers WHERE account_manager = $m",
                                       {"m": MANAGER}).fetchall()}
    assert set(at.dataframe[1].value["Customer ID"]) <= mine and len(at.dataframe[1].value) > 0
    assert at.sidebar.multiselect(key="region").options == [REGION]


def test_an_account_manager_naming_a_manager_the_warehouse_lacks_sees_nothing(users_file):
    users_file.write_text(users_text(extra=f'\n[users.nobody]\nrole = "account_manager"\n'
                                           f'account_managers = ["没有这个人"]\npassword_hash = "{_HASH}"\n'),
                          encoding="utf-8")
    at = sign_in(app().run(), "nobody", PASSWORD)
    assert signed_in_as(at) is None and not shows_data(at)
    assert [w.value for w in at.warning] == [
        "Your account names a region, service centre or account manager this warehouse does not have, so you see "
        "nothing. Ask an administrator to correct the users file."]


def test_cli_adds_an_account_manager_with_their_names(tmp_path):
    path = tmp_path / "users.toml"
    done = subprocess.run([sys.executable, "-m", "dashboard.users", "--file", str(path), "add", "wang_fang",
                           "--role", "account_manager", "--account-managers", MANAGER, "--password-stdin"],
                          input="a long password\n", text=True, capture_output=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert read_users(path).users["wang_fang"].account_managers == (MANAGER,)
    done = subprocess.run([sys.executable, "-m", "dashboard.users", "--file", str(path), "add", "li",
                           "--role", "account_manager", "--password-stdin"],
                          input="a long password\n", text=True, capture_output=True, cwd=ROOT)
    assert done.returncode != 0 and "must list account_managers" in done.stderr
