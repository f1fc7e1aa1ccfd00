"""The briefing book carries the application store's commentary and open actions for its month and scope, as its
reader may read them (issue 19's routine in issue 20's book)."""

from __future__ import annotations

import datetime as dt

import store
from dashboard.users import LOCAL_ADMIN
from report.__main__ import main
from tests.test_report import pages_text

REGION, OTHER = "台州", "宁波"


def test_the_book_shows_its_scope_s_comments_and_open_actions_only(demo_db, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    monkeypatch.setenv("SCORECARD_STORE_URL", url)
    s = store.open(url)
    s.write_comment(LOCAL_ADMIN, "csat", "2026-10", REGION, "Typhoon Kong-rey: three repair crews were redeployed")
    s.write_comment(LOCAL_ADMIN, "csat", "2026-09", REGION, "September note, not this month's")
    s.write_comment(LOCAL_ADMIN, "csat", "2026-10", OTHER, "Ningbo's own comment")
    s.add_action(LOCAL_ADMIN, "csat", REGION, "Revisit the 12 accounts that rated repairs low", "zhou", dt.date(2026, 11, 30))
    done = s.add_action(LOCAL_ADMIN, "csat", REGION, "Already finished action", "zhou", dt.date(2026, 11, 15))
    s.update_action(LOCAL_ADMIN, done, status="done")
    s.close()
    users = tmp_path / "users.toml"
    users.write_text(f'[users.li_na]\nrole = "lead"\nregions = ["{OTHER}"]\n', encoding="utf-8")

    region_book, other_book = tmp_path / "taizhou.pdf", tmp_path / "ningbo_lead.pdf"
    assert main(["--month", "2026-10", "--db", str(demo_db), "--region", REGION, "--lang", "en",
                 "--out", str(region_book)]) == 0
    text = " ".join(" ".join(pages_text(region_book)).split())
    assert "Commentary and open actions" in text
    assert "Typhoon Kong-rey: three repair crews were redeployed" in text
    assert "Revisit the 12 accounts that rated repairs low" in text
    assert "September note" not in text and "Ningbo's own comment" not in text and "Already finished" not in text

    # a lead of the other region: their book is limited to it, and holds none of 台州's commentary
    assert main(["--month", "2026-10", "--db", str(demo_db), "--user", "li_na", "--users-file", str(users),
                 "--lang", "en", "--out", str(other_book)]) == 0
    text = " ".join(" ".join(pages_text(other_book)).split())
    assert "Ningbo's own comment" in text
    assert "Typhoon" not in text and "Revisit the 12" not in text
