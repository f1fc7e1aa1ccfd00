"""The management routine through Streamlit's AppTest on the demo warehouse: a comment and an action written from the
scorecard are there after a reload (a new session), flags and owners on the tiles, permissions on screen, events on
the time charts, the audit trail for admins."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import metrics
import store
from dashboard import data, store_ui
from dashboard.filters import default_period
from dashboard.users import Identity
from metrics import scorecard
from metrics.warehouse import data_range

APP = Path(__file__).resolve().parents[1] / "app.py"
REGION = "台州"
LEAD = Identity("li_na", "Li Na", "lead", (REGION,), None)
ADMIN = Identity("root", "Root", "admin", None, None)


@pytest.fixture(autouse=True)
def demo_store(demo_db, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "WAREHOUSE", demo_db)
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    monkeypatch.setenv(store_ui.STORE_URL_VARIABLE, url)
    s = store.open(url)
    s.set_owner(ADMIN, "csat", REGION, "li_na")
    s.set_owner(ADMIN, "sla_compliance", REGION, "li_na")
    yield s
    s.close()


def run(page: str = "scorecard", who: Identity = LEAD, **params) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=180)
    at.session_state["identity"] = who
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def test_the_owner_writes_a_comment_and_an_action_and_both_are_there_after_a_reload(demo_store):
    at = run()
    assert "Commentary for 2026-10, ` 台州 `" in captions(at)  # the demo's data end on 31 October 2026; escaped
    assert "Owner: ` li_na `" in captions(at)
    at.text_area(key="comment_text_csat").input("台风“海葵”影响回访; <b>not bold</b>")
    at.button(key="comment_save_csat").click().run()
    assert not at.exception
    assert any("Comment saved" in s.value for s in at.success)
    at.text_input(key="action_title").input("补做回访 30 户")
    at.date_input(key="action_due").set_value(dt.date(2026, 11, 30))
    at.button(key="action_add").click().run()
    assert not at.exception
    assert any("Action added" in s.value for s in at.success), [e.value for e in at.error]

    again = run()  # a new session: what it shows comes from the store
    assert "💬 ` 台风“海葵”影响回访; <b>not bold</b> `" in captions(again)  # as written, shown escaped
    titles = [t for frame in again.dataframe for t in frame.value.get("Action", [])]
    assert "补做回访 30 户" in titles
    [stored] = demo_store.comments(ADMIN)
    assert stored["region"] == REGION and stored["author"] == "li_na"


def test_red_and_amber_tiles_without_comment_are_marked(demo_store, demo):
    first, last = data_range(demo)
    f = metrics.Filters(start=default_period(first, last)[0], end=last, allowed_regions=(REGION,))
    statuses = scorecard.evaluate(demo, scorecard.load_config(), f)["status"]
    red, amber = int((statuses == "red").sum()), int((statuses == "amber").sum())
    assert red >= 1  # the demo's 台州 has red KPIs (its complaint surge)
    at = run()
    assert captions(at).count("No comment yet") == red + amber
    assert captions(at).count("No open action") == red
    # a comment on one red KPI, and an open action on it: one fewer marked and one fewer flagged
    red_metric = scorecard.evaluate(demo, scorecard.load_config(), f).query("status == 'red'")["metric"].iloc[0]
    demo_store.write_comment(ADMIN, red_metric, "2026-10", REGION, "why")
    demo_store.add_action(ADMIN, red_metric, REGION, "what", "li_na", dt.date(2026, 11, 30))
    at = run()
    assert captions(at).count("No comment yet") == red + amber - 1
    assert captions(at).count("No open action") == red - 1


def test_a_lead_who_owns_nothing_reads_but_has_no_comment_box(demo_store):
    other = Identity("wang", "Wang", "lead", (REGION,), None)
    at = run(who=other)
    assert not [t for t in at.text_area if t.key and t.key.startswith("comment_text_")]
    assert not [b for b in at.button if b.key == "action_add"]


def test_an_executive_on_all_regions_sees_company_wide_commentary_and_no_forms(demo_store):
    boss = Identity("boss", "Boss", "executive", None, None)
    at = run(who=boss)
    assert "Company-wide" in captions(at)
    assert not [t for t in at.text_area if t.key and t.key.startswith("comment_text_")]
    assert not [e for e in at.expander if "Audit trail" in e.label]


def test_admin_sees_the_audit_trail_with_the_changes(demo_store):
    demo_store.write_comment(ADMIN, "csat", "2026-10", REGION, "x")
    at = run(who=ADMIN)
    audit = next(frame.value for frame in at.dataframe if "Which" in frame.value.columns)
    assert {"owner", "comment", "target"} <= set(audit["What"])  # targets: the scorecard file's, first seen


def test_events_reach_the_time_charts_of_their_region(demo_store):
    demo_store.add_event(ADMIN, dt.date(2026, 8, 15), REGION, "typhoon", "台风“海葵”登陆")
    demo_store.add_event(ADMIN, dt.date(2026, 8, 20), "温州", "grid_fault", "not in 台州")
    at = run("complaints", who=LEAD)
    figures = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("台风“海葵”登陆" in spec for spec in figures)
    assert not any("not in 台州" in spec for spec in figures)


def test_a_complaint_month_that_stands_out_shows_the_events_near_it(demo_store, demo):
    first, last = data_range(demo)
    f = metrics.Filters(start=default_period(first, last)[0], end=last, allowed_regions=(REGION,))
    from metrics.service import complaint_outliers
    outliers = complaint_outliers(demo, f)
    marked = list(outliers.loc[outliers["stands_out"], "month"])
    assert marked, "the demo's 台州 has a complaint surge"
    month = marked[0]
    demo_store.add_event(ADMIN, month + dt.timedelta(days=9), REGION, "typhoon", "台风“海葵”登陆")
    demo_store.add_event(ADMIN, month - dt.timedelta(days=120), REGION, "holiday", "far from it")
    at = run("complaints", who=LEAD)
    near = [c.value for c in at.caption if c.value.startswith(f"Near {month:%Y-%m}:")]
    assert len(near) == 1 and "台风“海葵”登陆" in near[0] and "far from it" not in near[0]
