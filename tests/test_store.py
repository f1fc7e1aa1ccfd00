"""The application store, the same tests on SQLite and on PostgreSQL (fixture `store_url`): migrations, permissions
per role, text kept as written, flags on red and amber KPIs, events by range and region, and the audit trail."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

import store
from dashboard.users import Identity
from store import ALL_REGIONS, FileValues, InvalidEntry, PermissionDenied

ADMIN = Identity("root", "Root", "admin", None, None)
LI = Identity("li_na", "Li Na", "lead", ("台州",), None)  # owns csat in 台州 (set below)
WANG = Identity("wang", "Wang", "lead", ("台州",), None)  # a lead of 台州 who owns nothing
ZHAO = Identity("zhao", "Zhao", "lead", ("温州",), None)  # owns nps in 温州, company-wide owner of csat elsewhere
EXEC = Identity("boss", "Boss", "executive", None, None)
ANALYST = Identity("ana", "Ana", "analyst", ("台州",), None)


@pytest.fixture
def s(store_url):
    opened = store.open(store_url)
    opened.set_owner(ADMIN, "csat", "台州", "li_na")
    opened.set_owner(ADMIN, "nps", "温州", "zhao")
    yield opened
    opened.close()


def test_open_migrates_to_head_and_again_is_harmless(store_url):
    first = store.open(store_url)
    assert store.revision(first.engine) == store.head_revision() == "0001"
    tables = set(sa.inspect(first.engine).get_table_names())
    assert {"owners", "comments", "actions", "events", "audit", "file_values", "alembic_version"} <= tables
    first.write_comment(ADMIN, "csat", "2026-10", "台州", "kept")
    first.close()
    second = store.open(store_url)  # a second start: nothing migrated again, nothing lost
    assert [c["body"] for c in second.comments(ADMIN)] == ["kept"]
    second.close()


def test_owner_writes_comment_and_action_for_their_kpi_and_region(s):
    s.write_comment(LI, "csat", "2026-10", "台州", "台风“海葵”致回访推迟; CSAT fell with the storm <b>x</b>")
    action = s.add_action(LI, "csat", "台州", "补做回访 30 户", "li_na", dt.date(2026, 11, 20), "每周汇报")
    [comment] = s.comments(LI, metric="csat", region="台州")
    assert comment["body"] == "台风“海葵”致回访推迟; CSAT fell with the storm <b>x</b>"  # stored as written
    assert comment["author"] == "li_na" and comment["period"] == "2026-10"
    [stored] = s.actions(LI, region="台州")
    assert (stored["id"], stored["title"], stored["status"], stored["due"]) == (action, "补做回访 30 户", "open",
                                                                                dt.date(2026, 11, 20))


@pytest.mark.parametrize("who, metric, region", [
    (WANG, "csat", "台州"),  # a lead of the region who does not own the KPI
    (LI, "nps", "台州"),  # the owner of another KPI
    (LI, "csat", "温州"),  # outside their regions
    (ZHAO, "csat", "台州"),  # outside their regions
    (EXEC, "csat", "台州"),  # executives read
    (ANALYST, "csat", "台州"),  # analysts read
])
def test_who_may_not_write(s, who, metric, region):
    with pytest.raises(PermissionDenied):
        s.write_comment(who, metric, "2026-10", region, "no")
    with pytest.raises(PermissionDenied):
        s.add_action(who, metric, region, "no", who.username, dt.date(2026, 12, 1))
    assert s.comments(ADMIN) == [] and s.actions(ADMIN) == []
    assert s.may_write(who, metric, region) is False


def test_admin_writes_everything_and_owners_in_their_region(s):
    s.write_comment(ADMIN, "nps", "2026-10", "温州", "admin")
    s.write_comment(ZHAO, "nps", "2026-09", "温州", "owner")
    assert s.may_write(ADMIN, "sla_compliance", ALL_REGIONS)
    assert s.may_write(ZHAO, "nps", "温州") and s.may_write(LI, "csat", "台州")


def test_company_wide_owner_owns_a_region_without_its_own_owner(s):
    s.set_owner(ADMIN, "sla_compliance", ALL_REGIONS, "boss")
    assert s.owner_of("sla_compliance", "温州") == "boss"  # no 温州 owner: the company-wide one
    assert s.owner_of("csat", "台州") == "li_na"
    s.file_owners = {("reopen_rate", "台州"): "li_na", ("reopen_rate", ALL_REGIONS): "boss"}
    assert s.owner_of("reopen_rate", "台州") == "li_na" and s.owner_of("reopen_rate", "温州") == "boss"
    s.set_owner(ADMIN, "reopen_rate", "台州", "wang")  # the app's owner wins over the file's
    assert s.owner_of("reopen_rate", "台州") == "wang"


def test_only_admins_set_owners_and_see_the_audit(s):
    for who in (LI, EXEC, ANALYST):
        with pytest.raises(PermissionDenied):
            s.set_owner(who, "csat", "台州", who.username)
        with pytest.raises(PermissionDenied):
            s.audit_trail(who)
    assert s.owner_of("csat", "台州") == "li_na"


def test_leads_and_analysts_read_only_their_regions(s):
    s.write_comment(ADMIN, "csat", "2026-10", "台州", "tz")
    s.write_comment(ADMIN, "csat", "2026-10", "温州", "wz")
    s.add_action(ADMIN, "csat", "温州", "wz action", "zhao", dt.date(2026, 12, 1))
    assert [c["body"] for c in s.comments(LI)] == ["tz"]
    assert [c["body"] for c in s.comments(ANALYST)] == ["tz"]
    assert sorted(c["body"] for c in s.comments(EXEC)) == ["tz", "wz"]
    assert s.actions(LI) == [] and len(s.actions(EXEC)) == 1
    with pytest.raises(PermissionDenied):
        s.comments(LI, region="温州")
    with pytest.raises(PermissionDenied):
        s.actions(LI, region="温州")


def test_limits_and_values_that_cannot_be_stored(s):
    with pytest.raises(InvalidEntry, match="at most 2,000"):
        s.write_comment(LI, "csat", "2026-10", "台州", "长" * 2001)
    s.write_comment(LI, "csat", "2026-10", "台州", "长" * 2000)  # the limit itself is fine
    with pytest.raises(InvalidEntry, match="empty"):
        s.write_comment(LI, "csat", "2026-10", "台州", "   ")
    with pytest.raises(InvalidEntry, match="unknown KPI"):
        s.write_comment(ADMIN, "csat; DROP TABLE comments", "2026-10", "台州", "x")
    with pytest.raises(InvalidEntry, match="not a month"):
        s.write_comment(LI, "csat", "2026-13", "台州", "x")
    with pytest.raises(InvalidEntry, match="at most 200"):
        s.add_action(LI, "csat", "台州", "t" * 201, "li_na", dt.date(2026, 12, 1))
    action = s.add_action(LI, "csat", "台州", "t", "li_na", dt.date(2026, 12, 1))
    with pytest.raises(InvalidEntry, match="not one of open, done, cancelled"):
        s.update_action(LI, action, status="closed")
    with pytest.raises(InvalidEntry, match="kind"):
        s.add_event(ADMIN, dt.date(2026, 8, 1), "台州", "earthquake'--", "x")


def test_text_reaches_sql_only_as_a_parameter(s):
    hostile = "x'); DELETE FROM comments; --"
    s.write_comment(LI, "csat", "2026-10", "台州", hostile)
    s.write_comment(LI, "csat", "2026-09", "台州", "second")
    assert sorted(c["body"] for c in s.comments(LI)) == sorted([hostile, "second"])


def test_writing_again_replaces_the_comment_and_the_audit_keeps_the_old_text(s):
    s.write_comment(LI, "csat", "2026-10", "台州", "first words")
    s.write_comment(LI, "csat", "2026-10", "台州", "better words")
    assert [c["body"] for c in s.comments(LI)] == ["better words"]
    rows = [r for r in s.audit_trail(ADMIN) if r["entity"] == "comment"]
    assert [(r["change"], r["actor"], r["entity_key"]) for r in rows] == [
        ("update", "li_na", "csat/2026-10/台州"), ("create", "li_na", "csat/2026-10/台州")]
    assert json.loads(rows[0]["old_value"])["body"] == "first words"
    assert json.loads(rows[0]["new_value"])["body"] == "better words"


def test_every_change_leaves_an_audit_row(s):
    before = len(s.audit_trail(ADMIN))  # the two owners set by the fixture
    assert before == 2
    s.set_owner(ADMIN, "csat", "台州", "wang")
    s.set_owner(ADMIN, "csat", "台州", None)
    s.write_comment(ADMIN, "csat", "2026-10", "台州", "c")
    action = s.add_action(ADMIN, "csat", "台州", "a", "li_na", dt.date(2026, 12, 1))
    s.update_action(ADMIN, action, status="done", notes="完成")
    s.update_action(ADMIN, action, status="done")  # no change: no row
    event = s.add_event(ADMIN, dt.date(2026, 8, 1), "台州", "typhoon", "台风")
    s.delete_event(ADMIN, event)
    rows = s.audit_trail(ADMIN)[: len(s.audit_trail(ADMIN)) - before][::-1]
    assert [(r["entity"], r["change"]) for r in rows] == [
        ("owner", "update"), ("owner", "delete"), ("comment", "create"), ("action", "create"), ("action", "update"),
        ("event", "create"), ("event", "delete")]
    assert json.loads(rows[0]["old_value"]) == {"owner": "li_na"} and json.loads(rows[0]["new_value"]) == {"owner": "wang"}
    assert json.loads(rows[1]["old_value"]) == {"owner": "wang"} and rows[1]["new_value"] is None
    assert json.loads(rows[4]["old_value"]) == {"status": "open", "notes": ""}
    assert json.loads(rows[6]["old_value"])["text"] == "台风"
    assert all(r["at"] is not None and r["actor"] == "root" for r in rows)


def test_the_scorecard_files_targets_and_owners_are_audited_when_they_change(s):
    first = FileValues(owners={("csat", ALL_REGIONS): "boss"},
                       targets={"csat/*/*": {"target": 0.85, "amber_within": 0.05}})
    assert s.sync_file(first) == 2  # first sight: both created
    assert s.sync_file(first) == 0  # unchanged file: nothing
    second = FileValues(owners={}, targets={"csat/*/*": {"target": 0.9, "amber_within": 0.05},
                                            "csat/台州/2027": {"target": 0.8}})
    assert s.sync_file(second) == 3
    rows = {(r["entity"], r["entity_key"]): r for r in s.audit_trail(ADMIN)[:3]}
    changed = rows[("target", "file:csat/*/*")]
    assert changed["change"] == "update" and changed["actor"] == "scorecard.toml"
    assert json.loads(changed["old_value"])["target"] == 0.85 and json.loads(changed["new_value"])["target"] == 0.9
    assert rows[("target", "file:csat/台州/2027")]["change"] == "create"
    assert rows[("owner", "file:csat/*")]["change"] == "delete"
    assert s.file_owners == {}


def test_action_owner_updates_their_action_and_others_may_not(s):
    action = s.add_action(LI, "csat", "台州", "回访", "wang", dt.date(2026, 12, 1))
    s.update_action(WANG, action, notes="已回访 12 户")  # the action's own owner, in their region
    with pytest.raises(PermissionDenied):
        s.update_action(ZHAO, action, status="cancelled")
    with pytest.raises(PermissionDenied):
        s.update_action(EXEC, action, status="done")
    [stored] = s.actions(ADMIN)
    assert (stored["status"], stored["notes"]) == ("open", "已回访 12 户")


def test_red_and_amber_without_a_comment_and_red_without_an_open_action_are_flagged(s):
    statuses = {"csat": "red", "nps": "amber", "sla_compliance": "green", "reopen_rate": "red", "complaints": "grey"}
    notes = store.tile_notes(s, LI, statuses, "台州", "2026-10")
    assert [m for m, n in notes.items() if n.no_comment_yet] == ["csat", "nps", "reopen_rate"]
    assert [m for m, n in notes.items() if n.red_without_action] == ["csat", "reopen_rate"]
    assert notes["csat"].owner == "li_na" and notes["csat"].may_write and not notes["nps"].may_write
    s.write_comment(LI, "csat", "2026-10", "台州", "why")
    s.write_comment(LI, "csat", "2026-09", "台州", "a month earlier does not count")
    s.write_comment(ADMIN, "reopen_rate", "2026-09", "台州", "last month only")
    action = s.add_action(LI, "csat", "台州", "what", "li_na", dt.date(2026, 11, 30))
    s.add_action(ADMIN, "reopen_rate", "台州", "done already", "li_na", dt.date(2026, 10, 30))
    s.update_action(ADMIN, s.actions(ADMIN, metric="reopen_rate")[0]["id"], status="done")
    notes = store.tile_notes(s, LI, statuses, "台州", "2026-10")
    assert [m for m, n in notes.items() if n.no_comment_yet] == ["nps", "reopen_rate"]
    assert [m for m, n in notes.items() if n.red_without_action] == ["reopen_rate"]  # its only action is done
    assert notes["csat"].comment["body"] == "why" and notes["csat"].open_actions == 1
    s.update_action(LI, action, status="cancelled")
    assert store.tile_notes(s, LI, statuses, "台州", "2026-10")["csat"].red_without_action
    with pytest.raises(PermissionDenied):
        store.tile_notes(s, LI, statuses, "温州", "2026-10")


def test_overdue_actions(s):
    s.add_action(LI, "csat", "台州", "late", "li_na", dt.date(2026, 11, 30))
    s.add_action(LI, "csat", "台州", "due today", "li_na", dt.date(2026, 12, 1))
    done = s.add_action(LI, "csat", "台州", "late but done", "li_na", dt.date(2026, 11, 1))
    s.update_action(LI, done, status="done")
    assert [a["title"] for a in store.overdue(s.actions(LI), dt.date(2026, 12, 1))] == ["late"]


def test_events_by_range_and_region(s):
    s.add_event(ADMIN, dt.date(2026, 8, 1), "台州", "typhoon", "台风“海葵”登陆")
    s.add_event(ADMIN, dt.date(2026, 9, 15), ALL_REGIONS, "tariff_change", "分时电价调整")
    s.add_event(ADMIN, dt.date(2026, 9, 20), "温州", "grid_fault", "500kV 线路故障")
    s.add_event(LI, dt.date(2025, 1, 1), "台州", "holiday", "元旦")
    with pytest.raises(PermissionDenied):
        s.add_event(LI, dt.date(2026, 8, 1), "温州", "typhoon", "not their region")
    with pytest.raises(PermissionDenied):
        s.add_event(LI, dt.date(2026, 8, 1), ALL_REGIONS, "typhoon", "leads add only their regions'")
    with pytest.raises(PermissionDenied):
        s.add_event(EXEC, dt.date(2026, 8, 1), "台州", "typhoon", "executives read")
    texts = lambda rows: [e["text"] for e in rows]  # noqa: E731
    assert texts(s.events(EXEC, dt.date(2026, 1, 1), dt.date(2026, 12, 31))) == [
        "台风“海葵”登陆", "分时电价调整", "500kV 线路故障"]
    assert texts(s.events(EXEC, dt.date(2026, 1, 1), dt.date(2026, 12, 31), regions=["温州"])) == [
        "分时电价调整", "500kV 线路故障"]
    assert texts(s.events(LI, dt.date(2024, 1, 1), dt.date(2026, 12, 31))) == ["元旦", "台风“海葵”登陆", "分时电价调整"]
    assert texts(s.events(EXEC, dt.date(2026, 8, 2), dt.date(2026, 9, 15))) == ["分时电价调整"]  # both ends inclusive


def test_events_near_a_month():
    events = [{"event_date": dt.date(2026, 7, 31), "text": "a"}, {"event_date": dt.date(2026, 8, 20), "text": "b"},
              {"event_date": dt.date(2026, 10, 1), "text": "c"}, {"event_date": dt.date(2026, 10, 2), "text": "d"}]
    # August 2026 with 31 days either side: 1 July to 1 October
    near = store.events_near(events, [dt.date(2026, 8, 1)], days=31)
    assert [e["text"] for e in near[dt.date(2026, 8, 1)]] == ["a", "b", "c"]
    assert [e["text"] for e in store.events_near(events, [dt.date(2026, 8, 1)], days=0)[dt.date(2026, 8, 1)]] == ["b"]


@pytest.mark.parametrize("end, month", [(dt.date(2026, 10, 31), "2026-10"), (dt.date(2026, 11, 15), "2026-10"),
                                        (dt.date(2024, 2, 29), "2024-02"), (dt.date(2026, 1, 5), "2025-12")])
def test_latest_closed_month(end, month):
    assert store.closed_month(end) == month


def test_a_warehouse_reload_keeps_every_comment_and_action(tmp_path):
    """The default store lives beside the warehouse (dashboard.store_ui): a full reload replaces the warehouse file
    and leaves the store as it was."""
    from dashboard import store_ui
    from ingest import load
    from tests.conftest import HAND_BILLING, HAND_CUSTOMERS, HAND_TICKETS

    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "customers.csv").write_text(HAND_CUSTOMERS, encoding="utf-8")
    (exports / "billing.csv").write_text(HAND_BILLING, encoding="utf-8")
    (exports / "tickets.csv").write_text(HAND_TICKETS, encoding="utf-8")
    warehouse = tmp_path / "warehouse.duckdb"
    load([exports], warehouse)
    url = store_ui.default_url(warehouse)
    assert url == f"sqlite:///{tmp_path / 'store.sqlite'}"
    s = store.open(url)
    s.write_comment(ADMIN, "csat", "2024-10", "A", "保持")
    s.add_action(ADMIN, "csat", "A", "keep", "root", dt.date(2024, 12, 1))
    s.close()
    before = warehouse.stat().st_ino
    load([exports], warehouse)  # a full reload: a new warehouse file
    assert warehouse.stat().st_ino != before
    again = store.open(url)
    assert [c["body"] for c in again.comments(ADMIN)] == ["保持"]
    assert [a["title"] for a in again.actions(ADMIN)] == ["keep"]
    again.close()
