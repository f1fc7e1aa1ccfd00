"""Who sees what: roles, region limits in the metric layer, hostile filter values, safe sign-in."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import auth, data, users
from dashboard.lockout import Lockout
from dashboard.users import Identity, UsersFileError, hash_password, read_users, unknown_places, verify_password
from metrics import CATALOGUE, Filters, compute
from metrics.warehouse import table_slice
from tests.conftest import DEMO_END_MONTH

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
REGION = "台州"
LEAD = Identity("li_na", "Li Na", "lead", (REGION,), None)
EXECUTIVE = Identity("zhou_ming", "Zhou Ming", "executive", None, None)
ANALYST = Identity("wang_lei", "Wang Lei", "analyst", ("宁波", "杭州"), None)
YEAR = Filters(start=dt.date(2025, 11, 1), end=DEMO_END_MONTH.replace(day=31))


@pytest.fixture(autouse=True)
def demo_warehouse(demo_db, monkeypatch):
    monkeypatch.setattr(data, "WAREHOUSE", demo_db)


def run_as(identity: Identity | None, page: str = "scorecard", query: dict | None = None, **state) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    if identity is not None:
        at.session_state[auth.SESSION_KEY] = identity
    for key, value in state.items():
        at.session_state[key] = value
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if page != "scorecard":
        at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# --- the metric layer enforces region limits -------------------------------------------------------

@pytest.mark.parametrize("metric_id", list(CATALOGUE))
def test_every_metric_returns_only_allowed_regions(demo, metric_id):
    limited = YEAR.model_copy(update={"allowed_regions": (REGION,)})
    by_region = compute(demo, metric_id, YEAR, by=("region",)).set_index("region")["value"]
    limited_total = compute(demo, metric_id, limited)["value"].iloc[0]
    # a region with nothing to count has no row in the breakdown: 0 for counts, null for everything else
    missing = 0 if CATALOGUE[metric_id].format == "count" else float("nan")
    assert limited_total == pytest.approx(by_region.get(REGION, missing), nan_ok=True)
    assert set(compute(demo, metric_id, limited, by=("region",))["region"]) <= {REGION}
    # asking for another region on top of the limit does not widen it
    widened = limited.model_copy(update={"regions": (REGION, "宁波")})
    assert compute(demo, metric_id, widened)["value"].iloc[0] == pytest.approx(limited_total, nan_ok=True)


def test_views_and_row_downloads_return_only_allowed_regions(demo):
    from dashboard.data import VIEWS

    limited = YEAR.model_copy(update={"allowed_regions": (REGION,)})
    for table in ("customers", "billing", "tickets", "surveys", "visits", "account_events"):
        rows = table_slice(demo, limited, table)
        assert len(rows) > 0 and set(rows["region"]) == {REGION}, table
    for name in ("rising_accounts", "repeat_complainants", "early_warning"):
        frame = VIEWS[name](demo, limited)
        assert set(frame["region"]) <= {REGION}, name
    everyone = VIEWS["tier_distribution"](demo, YEAR)["customers"].sum()
    assert VIEWS["tier_distribution"](demo, limited)["customers"].sum() < everyone


def test_centre_level_lead_sees_only_their_centre(demo):
    centre = f"{REGION}城东供电所"
    limited = YEAR.model_copy(update={"allowed_service_centers": (centre,), "allowed_regions": (REGION,)})
    assert set(table_slice(demo, limited, "tickets")["service_center"]) == {centre}
    asked_other = limited.model_copy(update={"service_centers": (f"{REGION}城西供电所",)})
    assert compute(demo, "tickets", asked_other)["value"].iloc[0] == 0


def test_cache_never_serves_one_users_rows_to_another():
    lead_filters = YEAR.model_copy(update={"allowed_regions": (REGION,)})
    everyone = data.metric("tickets", YEAR)["value"].iloc[0]
    lead = data.metric("tickets", lead_filters)["value"].iloc[0]
    assert lead < everyone
    assert data.metric("tickets", YEAR)["value"].iloc[0] == everyone  # cached result for the other key unchanged


# --- hostile input --------------------------------------------------------------------------------

HOSTILE = ["' OR 1=1 --", "'; DROP TABLE customers; --", "x" * 10_000, "台州\x00\x1b[31m", "台\u200b州",
           "ＤＲＯＰ TABLE tickets", "\" OR \"\"=\"", "$p0", "%", "_"]


def test_hostile_filter_values_match_nothing_and_change_nothing(demo, demo_db):
    before = hashlib.sha256(Path(demo_db).read_bytes()).hexdigest()
    for value in HOSTILE:
        for field in ("regions", "service_centers", "industries", "allowed_regions", "allowed_service_centers"):
            f = YEAR.model_copy(update={field: (value,)})
            for metric_id in ("revenue", "tickets", "complaints", "active_customers", "sla_compliance"):
                v = compute(demo, metric_id, f)["value"].iloc[0]
                assert v == 0 or v != v, (field, value, metric_id)  # zero or null: nothing matched
            assert table_slice(demo, f, "tickets").empty
    assert hashlib.sha256(Path(demo_db).read_bytes()).hexdigest() == before
    assert compute(demo, "tickets", YEAR)["value"].iloc[0] > 0


def test_values_outside_the_enums_are_refused():
    for field in ("tiers", "areas", "ticket_types", "channels"):
        with pytest.raises(ValueError, match=field):
            YEAR.model_validate({**YEAR.model_dump(), field: ["' OR 1=1 --"]})


def test_table_and_metric_names_come_from_whitelists(demo):
    with pytest.raises(ValueError, match="unknown table"):
        table_slice(demo, YEAR, "customers; DROP TABLE tickets")
    with pytest.raises(KeyError, match="unknown metric"):
        compute(demo, "revenue; DROP TABLE billing", YEAR)
    with pytest.raises(ValueError, match="cannot be broken down"):
        compute(demo, "revenue", YEAR, by=("region; DROP TABLE billing",))


# --- pages per role ------------------------------------------------------------------------------

def test_lead_sees_only_their_region_on_the_scorecard():
    at = run_as(LEAD)
    assert at.dataframe[0].value["Region"].tolist() == [REGION]


def test_crafted_url_does_not_widen_a_leads_view():
    at = run_as(LEAD, query={"region": ["宁波", REGION]})
    assert any("宁波" in w.value for w in at.sidebar.warning)
    assert at.dataframe[0].value["Region"].tolist() == [REGION]


def test_lead_is_refused_the_data_page_and_row_tables():
    at = run_as(LEAD, page="data")  # not in a lead's navigation: Streamlit falls back to the home page
    assert [t.value for t in at.title] == ["Key account service scorecard"]
    assert "Rows rejected" not in " ".join(at.dataframe[0].value.columns)
    explore = run_as(LEAD, page="explore")
    kinds = next(c for c in explore.get("segmented_control") if c.proto.label == "What to explore")
    assert [o.content for o in kinds.proto.options] == ["A metric"]


def test_executive_sees_data_page_without_import_and_admin_with_it():
    executive = run_as(EXECUTIVE, page="data")
    assert not any(s.value == "Import new exports" for s in executive.subheader)
    admin = run_as(None, page="data")  # sign-in off: the local user is an administrator
    assert any(s.value == "Import new exports" for s in admin.subheader)


def test_analyst_downloads_rows_of_their_regions_only():
    at = run_as(ANALYST, page="explore", explore_kind="table", explore_table="tickets")
    rows = at.dataframe[0].value
    assert len(rows) > 0 and set(rows["Region"]) <= {"宁波", "杭州"}


# --- sign-in ---------------------------------------------------------------------------------------

def write_users(path: Path, mode: str) -> Path:
    path.write_text(f"""[auth]
mode = "{mode}"
max_failures = 3
lockout_seconds = 600

[users.li_na]
role = "lead"
regions = ["{REGION}"]
login = "li.na@example.com"
password_hash = "{hash_password('correct horse battery')}"
""", encoding="utf-8")
    return path


def test_password_hashing_and_lockout(tmp_path):
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$") and "correct" not in stored
    assert verify_password(stored, "correct horse battery") and not verify_password(stored, "wrong")
    assert not verify_password(None, "anything") and not verify_password("not-a-hash", "x")
    now = [0.0]
    lockout = Lockout(tmp_path / "failures.sqlite", max_failures=3, seconds=60, clock=lambda: now[0])
    for _ in range(3):
        assert lockout.attempt("li_na") == 0
    assert lockout.attempt("li_na") == pytest.approx(60)
    now[0] = 61
    assert lockout.attempt("li_na") == 0


def test_password_mode_signs_in_with_the_right_password_only(tmp_path, monkeypatch):
    monkeypatch.setattr(auth, "USERS_FILE", write_users(tmp_path / "users.toml", "password"))
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    assert at.title[0].value == "Key Account Service Scorecard" and not at.dataframe
    at.text_input[0].input("li_na")
    at.text_input[1].input("wrong password")
    at.button[0].click().run()
    assert any("wrong password" in e.value for e in at.error)
    at.text_input[1].input("correct horse battery")
    at.button[0].click().run()
    assert at.session_state[auth.SESSION_KEY].allowed_regions == (REGION,)
    assert at.dataframe[0].value["Region"].tolist() == [REGION]


def test_password_mode_locks_out_after_repeated_failures(tmp_path, monkeypatch):
    monkeypatch.setattr(auth, "USERS_FILE", write_users(tmp_path / "users.toml", "password"))
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    for _ in range(3):
        at.text_input[0].input("li_na")
        at.text_input[1].input("guess")
        at.button[0].click().run()
    at.text_input[1].input("correct horse battery")
    at.button[0].click().run()
    assert any("Too many failed attempts" in e.value for e in at.error)
    assert auth.SESSION_KEY not in at.session_state


def test_oidc_claims_map_to_roles(tmp_path, monkeypatch):
    monkeypatch.setattr(auth, "USERS_FILE", write_users(tmp_path / "users.toml", "oidc"))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.user = {"is_logged_in": True, "email": "li.na@example.com"}
    at.run()
    assert at.dataframe[0].value["Region"].tolist() == [REGION]
    stranger = AppTest.from_file(str(APP), default_timeout=120)
    stranger.user = {"is_logged_in": True, "email": "someone@example.com"}
    stranger.run()
    assert any("has no role" in e.value for e in stranger.error)


def test_users_file_errors_name_the_entry(tmp_path):
    path = tmp_path / "users.toml"
    path.write_text('[users.x]\nrole = "lead"\nregions = ["Atlantis", "台州"]\n', encoding="utf-8")
    assert unknown_places(read_users(path), {REGION}, {}) == {"x": ["Atlantis"]}
    path.write_text('[users.x]\nrole = "lead"\nregoins = ["台州"]\n', encoding="utf-8")
    with pytest.raises(UsersFileError, match="users.x.regoins: Extra inputs are not permitted"):
        read_users(path)
    path.write_text('[users.x]\nrole = "lead"\n', encoding="utf-8")
    with pytest.raises(UsersFileError, match="a lead must list regions"):
        read_users(path)


def test_cli_adds_a_user_and_resets_a_password(tmp_path):
    path = tmp_path / "users.toml"
    add = subprocess.run([sys.executable, "-m", "dashboard.users", "--file", str(path), "add", "li_na", "--role", "lead",
                          "--regions", REGION, "--password-stdin"], input="first password 1\n", text=True,
                         capture_output=True, cwd=ROOT)
    assert add.returncode == 0, add.stderr
    entry = read_users(path).users["li_na"]
    assert entry.role == "lead" and entry.regions == (REGION,) and verify_password(entry.password_hash, "first password 1")
    reset = subprocess.run([sys.executable, "-m", "dashboard.users", "--file", str(path), "reset-password", "li_na",
                            "--password-stdin"], input="second password 2\n", text=True, capture_output=True, cwd=ROOT)
    assert reset.returncode == 0, reset.stderr
    assert verify_password(read_users(path).users["li_na"].password_hash, "second password 2")
    short = subprocess.run([sys.executable, "-m", "dashboard.users", "--file", str(path), "reset-password", "li_na",
                            "--password-stdin"], input="short\n", text=True, capture_output=True, cwd=ROOT)
    assert short.returncode != 0 and "at least 10 characters" in short.stderr


def test_example_users_file_is_valid():
    example = read_users(users.EXAMPLE_FILE)
    assert example.auth.mode == "none"
    assert {e.role for e in example.users.values()} == {"executive", "lead", "analyst", "admin"}
