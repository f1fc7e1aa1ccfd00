"""The application store: owners, commentary, actions (督办), events and the audit trail, kept apart from the warehouse
(which every load rebuilds). SQLite file by default, any SQLAlchemy URL (PostgreSQL for a team deployment).

    s = store.open("sqlite:///data/store.sqlite")      # runs the migrations up to head
    s.write_comment(identity, "csat", "2026-10", "台州", "…")

Every function that reads or writes takes the person (anything with `username`, `role` and `allowed_regions`, such as
dashboard.users.Identity) and checks here what they may do, so a hidden button is never the only guard:
admins do everything; the owner of a KPI in a region writes its commentary and actions there; executives and analysts
read; a person limited to regions reads and writes only those (and reads company-wide events). Text is kept as
written, within length limits, and reaches SQL only as bound parameters. No Streamlit here.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from metrics.catalogue import CATALOGUE
from store import models
from store.models import (
    ALL_REGIONS,
    EVENT_KINDS,
    MAX_COMMENT,
    MAX_EVENT,
    MAX_NOTES,
    MAX_REGION,
    MAX_TITLE,
    MAX_USER,
    STATUSES,
)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
WRITERS_OF_EVENTS = ("admin", "lead")


class Actor(Protocol):
    username: str
    role: str
    allowed_regions: tuple[str, ...] | None


class PermissionDenied(PermissionError):
    """The person may not do this; the message says why."""


class InvalidEntry(ValueError):
    """A value that cannot be stored (too long, empty, unknown KPI or status); the message says which and why."""


def _alembic_config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def revision(engine: sa.Engine) -> str | None:
    with engine.connect() as con:
        return MigrationContext.configure(con).get_current_revision()


_migrate_lock = threading.Lock()


def open(url: str, **engine_options) -> Store:  # noqa: A001 - store.open(url) is the API the issue names
    """The store at `url`, its schema migrated to the newest revision (created on first use)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, **engine_options)
    if engine.dialect.name == "sqlite":
        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_con, _record):  # wait for a writer in another session instead of failing
            dbapi_con.execute("PRAGMA busy_timeout = 10000")
    with _migrate_lock:
        if revision(engine) != head_revision():
            with engine.begin() as con:
                command.upgrade(_alembic_config(con), "head")
    return Store(engine)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _text(name: str, value: str, limit: int, required: bool = True) -> str:
    if not isinstance(value, str):
        raise InvalidEntry(f"{name} must be text")
    value = value.strip()
    if required and not value:
        raise InvalidEntry(f"{name} is empty")
    if len(value) > limit:
        raise InvalidEntry(f"{name} has {len(value):,} characters; at most {limit:,}")
    return value


def _metric(metric: str) -> str:
    if metric not in CATALOGUE:
        raise InvalidEntry(f"unknown KPI '{str(metric)[:64]}'")
    return metric


def _region(region: str) -> str:
    return _text("region", region, MAX_REGION)


def _period(period: str) -> str:
    try:
        parsed = dt.datetime.strptime(period, "%Y-%m")
    except (TypeError, ValueError):
        raise InvalidEntry(f"period '{str(period)[:16]}' is not a month (YYYY-MM)") from None
    return parsed.strftime("%Y-%m")


def closed_month(end: dt.date) -> str:
    """The latest closed month of a window ending on `end`: its own month when `end` is the month's last day, else the
    month before."""
    if (end + dt.timedelta(days=1)).month != end.month:
        return end.strftime("%Y-%m")
    return (end.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")


def reads_region(actor: Actor, region: str) -> bool:
    """Whether the person may read what is written for `region` (the company-wide scope only without a region limit)."""
    return actor.allowed_regions is None or region in actor.allowed_regions


def _readable(actor: Actor, column, company_wide_too: bool = False):
    """A WHERE clause limiting `column` to the regions the person reads."""
    if actor.allowed_regions is None:
        return sa.true()
    allowed = list(actor.allowed_regions) + ([ALL_REGIONS] if company_wide_too else [])
    return column.in_(allowed)


@dataclass(frozen=True)
class FileValues:
    """What the scorecard file says about owners and targets, as flat keys: owners {(metric, region): user} and
    targets {"metric/region/year": {"target": …, "amber_within": …}} (see metrics.scorecard.file_values)."""

    owners: Mapping[tuple[str, str], str]
    targets: Mapping[str, Mapping[str, float]]


class Store:
    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self.file_owners: Mapping[tuple[str, str], str] = {}

    def close(self) -> None:
        self.engine.dispose()

    # ----- audit -----
    @staticmethod
    def _audit(con: sa.Connection, actor: str, entity: str, key: str, change: str, old: Any, new: Any) -> None:
        con.execute(models.audit.insert().values(at=_now(), actor=actor[:MAX_USER], entity=entity, entity_key=key[:300],
                                                 change=change, old_value=_json(old), new_value=_json(new)))

    def audit_trail(self, actor: Actor, limit: int = 10_000) -> list[dict]:
        """Every recorded change, newest first (admins only)."""
        if actor.role != "admin":
            raise PermissionDenied("only an administrator sees the audit trail")
        a = models.audit
        with self.engine.connect() as con:
            rows = con.execute(sa.select(a).order_by(a.c.id.desc()).limit(min(int(limit), 100_000)))
            return [dict(r._mapping) for r in rows]

    # ----- the scorecard file -----
    def sync_file(self, values: FileValues, source: str = "scorecard.toml") -> int:
        """Take the scorecard file's owners and targets as the defaults, and record in the audit trail every one that
        changed since the file was last seen (the first sight of each is recorded as created). The changes recorded."""
        self.file_owners = dict(values.owners)
        seen: dict[str, dict[str, object]] = {f"owner/{m}/{r}": {"owner": u} for (m, r), u in values.owners.items()}
        seen.update({f"target/{k}": dict(v) for k, v in values.targets.items()})
        fv = models.file_values
        changes = 0
        with self.engine.begin() as con:
            before = {r.key: json.loads(r.value) for r in con.execute(sa.select(fv))}
            for key in sorted(set(before) | set(seen)):
                old, new = before.get(key), seen.get(key)
                if old == new:
                    continue
                entity, _, rest = key.partition("/")
                change = "create" if old is None else "delete" if new is None else "update"
                self._audit(con, source, entity, f"file:{rest}", change, old, new)
                if new is None:
                    con.execute(fv.delete().where(fv.c.key == key))
                elif old is None:
                    con.execute(fv.insert().values(key=key, value=_json(new)))
                else:
                    con.execute(fv.update().where(fv.c.key == key).values(value=_json(new)))
                changes += 1
        return changes

    # ----- owners -----
    def owners(self, actor: Actor) -> list[dict]:
        """The owners set in the app (the file's are in `file_owners`), for the regions the person reads."""
        o = models.owners
        with self.engine.connect() as con:
            rows = con.execute(sa.select(o).where(_readable(actor, o.c.region)).order_by(o.c.metric, o.c.region))
            return [dict(r._mapping) for r in rows]

    def owner_of(self, metric: str, region: str) -> str | None:
        """Who owns the KPI in `region`: set in the app for that region, else in the file for it, else the
        company-wide owner (app, then file)."""
        o = models.owners
        with self.engine.connect() as con:
            found = dict(con.execute(sa.select(o.c.region, o.c.owner).where(
                o.c.metric == metric, o.c.region.in_([region, ALL_REGIONS]))).all())
        for scope in dict.fromkeys((region, ALL_REGIONS)):
            if scope in found:
                return found[scope]
            if (metric, scope) in self.file_owners:
                return self.file_owners[(metric, scope)]
        return None

    def set_owner(self, actor: Actor, metric: str, region: str, owner: str | None) -> None:
        """Set (or, with None, clear) the app's owner of a KPI in a region; admins only."""
        if actor.role != "admin":
            raise PermissionDenied("only an administrator sets owners")
        metric, region = _metric(metric), _region(region)
        owner = None if owner is None or not owner.strip() else _text("owner", owner, MAX_USER)
        o = models.owners
        key = f"{metric}/{region}"
        with self.engine.begin() as con:
            old = con.execute(sa.select(o.c.owner).where(o.c.metric == metric, o.c.region == region)).scalar()
            if old == owner:
                return
            if owner is None:
                con.execute(o.delete().where(o.c.metric == metric, o.c.region == region))
            elif old is None:
                con.execute(o.insert().values(metric=metric, region=region, owner=owner, updated_by=actor.username,
                                              updated_at=_now()))
            else:
                con.execute(o.update().where(o.c.metric == metric, o.c.region == region).values(
                    owner=owner, updated_by=actor.username, updated_at=_now()))
            self._audit(con, actor.username, "owner", key,
                        "create" if old is None else "delete" if owner is None else "update",
                        None if old is None else {"owner": old}, None if owner is None else {"owner": owner})

    # ----- permissions -----
    def may_write(self, actor: Actor, metric: str, region: str) -> bool:
        """Commentary and actions of a KPI in a region: admins, and its owner there within their regions."""
        if actor.role == "admin":
            return True
        return reads_region(actor, region) and self.owner_of(metric, region) == actor.username

    def _check_write(self, actor: Actor, metric: str, region: str) -> None:
        if not reads_region(actor, region):
            raise PermissionDenied(f"{actor.username} may not write for region {region}")
        if not self.may_write(actor, metric, region):
            raise PermissionDenied(f"{actor.username} does not own {metric} in {region}: only its owner or an "
                                   "administrator writes its commentary and actions")

    def _check_read(self, actor: Actor, region: str) -> None:
        if not reads_region(actor, region):
            raise PermissionDenied(f"{actor.username} may not read region {region}")

    # ----- commentary -----
    def write_comment(self, actor: Actor, metric: str, period: str, region: str, body: str) -> None:
        """The comment on a KPI for a month in a region, as written (one per KPI × month × region; writing again
        replaces it, the old text kept in the audit trail)."""
        metric, period, region = _metric(metric), _period(period), _region(region)
        body = _text("comment", body, MAX_COMMENT)
        self._check_write(actor, metric, region)
        c = models.comments
        scope = (c.c.metric == metric, c.c.period == period, c.c.region == region)
        with self.engine.begin() as con:
            old = con.execute(sa.select(c.c.body, c.c.author).where(*scope)).first()
            if old is None:
                con.execute(c.insert().values(metric=metric, period=period, region=region, body=body,
                                              author=actor.username, written_at=_now()))
            else:
                con.execute(c.update().where(*scope).values(body=body, author=actor.username, written_at=_now()))
            self._audit(con, actor.username, "comment", f"{metric}/{period}/{region}",
                        "create" if old is None else "update", None if old is None else dict(old._mapping),
                        {"body": body, "author": actor.username})

    def comments(self, actor: Actor, metric: str | None = None, region: str | None = None,
                 period: str | None = None, limit: int = 500) -> list[dict]:
        """Comments the person may read, newest month first."""
        c = models.comments
        where = [_readable(actor, c.c.region)]
        if metric is not None:
            where.append(c.c.metric == metric)
        if region is not None:
            self._check_read(actor, region)
            where.append(c.c.region == region)
        if period is not None:
            where.append(c.c.period == _period(period))
        with self.engine.connect() as con:
            rows = con.execute(sa.select(c).where(*where).order_by(c.c.period.desc(), c.c.metric, c.c.region)
                               .limit(min(int(limit), 10_000)))
            return [dict(r._mapping) for r in rows]

    # ----- actions -----
    def add_action(self, actor: Actor, metric: str, region: str, title: str, owner: str, due: dt.date,
                   notes: str = "") -> int:
        metric, region = _metric(metric), _region(region)
        title, owner = _text("title", title, MAX_TITLE), _text("owner", owner, MAX_USER)
        notes = _text("notes", notes, MAX_NOTES, required=False)
        if not isinstance(due, dt.date):
            raise InvalidEntry("due date must be a date")
        self._check_write(actor, metric, region)
        a = models.actions
        now = _now()
        values = dict(metric=metric, region=region, title=title, owner=owner, due=due, status="open", notes=notes)
        with self.engine.begin() as con:
            action_id = con.execute(a.insert().values(**values, created_by=actor.username, created_at=now,
                                                      updated_at=now).returning(a.c.id)).scalar_one()
            self._audit(con, actor.username, "action", str(action_id), "create", None, values)
        return int(action_id)

    def update_action(self, actor: Actor, action_id: int, status: str | None = None, notes: str | None = None,
                      due: dt.date | None = None) -> None:
        """Change an action's status (open / done / cancelled), notes or due date; the owner of its KPI, the action's
        own owner within their regions, or an admin."""
        if status is not None and status not in STATUSES:
            raise InvalidEntry(f"status '{str(status)[:16]}' is not one of {', '.join(STATUSES)}")
        if notes is not None:
            notes = _text("notes", notes, MAX_NOTES, required=False)
        a = models.actions
        with self.engine.begin() as con:
            row = con.execute(sa.select(a).where(a.c.id == int(action_id))).first()
            if row is None:
                raise InvalidEntry(f"no action {int(action_id)}")
            if not (row.owner == actor.username and reads_region(actor, row.region)):
                self._check_write(actor, row.metric, row.region)
            change = {k: v for k, v in (("status", status), ("notes", notes), ("due", due))
                      if v is not None and v != getattr(row, k)}
            if not change:
                return
            con.execute(a.update().where(a.c.id == row.id).values(**change, updated_at=_now()))
            self._audit(con, actor.username, "action", str(row.id), "update",
                        {k: getattr(row, k) for k in change}, change)

    def actions(self, actor: Actor, metric: str | None = None, region: str | None = None,
                statuses: Iterable[str] | None = None, limit: int = 1000) -> list[dict]:
        a = models.actions
        where = [_readable(actor, a.c.region)]
        if metric is not None:
            where.append(a.c.metric == metric)
        if region is not None:
            self._check_read(actor, region)
            where.append(a.c.region == region)
        if statuses is not None:
            where.append(a.c.status.in_(list(statuses)))
        with self.engine.connect() as con:
            rows = con.execute(sa.select(a).where(*where).order_by(a.c.due, a.c.id).limit(min(int(limit), 10_000)))
            return [dict(r._mapping) for r in rows]

    # ----- events -----
    def add_event(self, actor: Actor, event_date: dt.date, region: str, kind: str, text: str) -> int:
        """A dated note (typhoon, grid fault, tariff change, …) for a region or company-wide ("*"): admins, and leads
        for their own regions."""
        region = _region(region)
        if kind not in EVENT_KINDS:
            raise InvalidEntry(f"kind '{str(kind)[:32]}' is not one of {', '.join(EVENT_KINDS)}")
        text = _text("event", text, MAX_EVENT)
        if not isinstance(event_date, dt.date):
            raise InvalidEntry("event date must be a date")
        if actor.role not in WRITERS_OF_EVENTS:
            raise PermissionDenied(f"a {actor.role} reads events; administrators and leads add them")
        if actor.role != "admin" and (region == ALL_REGIONS or not reads_region(actor, region)):
            raise PermissionDenied(f"{actor.username} may add events only for their own regions")
        e = models.events
        values = dict(event_date=event_date, region=region, kind=kind, text=text)
        with self.engine.begin() as con:
            event_id = con.execute(e.insert().values(**values, created_by=actor.username, created_at=_now())
                                   .returning(e.c.id)).scalar_one()
            self._audit(con, actor.username, "event", str(event_id), "create", None, values)
        return int(event_id)

    def delete_event(self, actor: Actor, event_id: int) -> None:
        e = models.events
        with self.engine.begin() as con:
            row = con.execute(sa.select(e).where(e.c.id == int(event_id))).first()
            if row is None:
                raise InvalidEntry(f"no event {int(event_id)}")
            if actor.role != "admin" and not (row.created_by == actor.username and reads_region(actor, row.region)):
                raise PermissionDenied("only an administrator or the event's author removes it")
            con.execute(e.delete().where(e.c.id == row.id))
            self._audit(con, actor.username, "event", str(row.id), "delete",
                        {k: getattr(row, k) for k in ("event_date", "region", "kind", "text")}, None)

    def events(self, actor: Actor, start: dt.date, end: dt.date, regions: Iterable[str] | None = None,
               limit: int = 1000) -> list[dict]:
        """Events from `start` to `end` (inclusive) that the person may read: those of `regions` (None: every region
        they read) and the company-wide ones."""
        e = models.events
        where = [e.c.event_date >= start, e.c.event_date <= end, _readable(actor, e.c.region, company_wide_too=True)]
        if regions is not None:
            where.append(e.c.region.in_([*regions, ALL_REGIONS]))
        with self.engine.connect() as con:
            rows = con.execute(sa.select(e).where(*where).order_by(e.c.event_date, e.c.id)
                               .limit(min(int(limit), 10_000)))
            return [dict(r._mapping) for r in rows]


@dataclass(frozen=True)
class TileNote:
    """What a KPI tile shows from the store: its owner, this month's comment, and the two flags."""

    owner: str | None
    comment: dict | None
    open_actions: int
    no_comment_yet: bool  # red or amber, and no comment for the month
    red_without_action: bool  # red, and no open action
    may_write: bool


def tile_notes(s: Store, actor: Actor, statuses: Mapping[str, str], region: str, period: str) -> dict[str, TileNote]:
    """Per KPI (metric id -> status green/amber/red/grey), its note for `region` and month `period`: a red or amber
    KPI with no comment for the month is "no comment yet"; a red KPI with no open action is flagged."""
    s._check_read(actor, region)
    said = {c["metric"]: c for c in s.comments(actor, region=region, period=period)}
    open_by_metric: dict[str, int] = {}
    for action in s.actions(actor, region=region, statuses=("open",)):
        open_by_metric[action["metric"]] = open_by_metric.get(action["metric"], 0) + 1
    notes = {}
    for metric, status in statuses.items():
        comment = said.get(metric)
        notes[metric] = TileNote(
            owner=s.owner_of(metric, region), comment=comment, open_actions=open_by_metric.get(metric, 0),
            no_comment_yet=status in ("red", "amber") and comment is None,
            red_without_action=status == "red" and not open_by_metric.get(metric),
            may_write=s.may_write(actor, metric, region))
    return notes


def overdue(actions: list[dict], today: dt.date) -> list[dict]:
    """The open actions whose due date has passed."""
    return [a for a in actions if a["status"] == "open" and a["due"] < today]


def events_near(events: list[dict], months: Iterable[dt.date], days: int = 31) -> dict[dt.date, list[dict]]:
    """For each month (its first day), the events from `days` before it starts to `days` after it ends."""
    near = {}
    for month in months:
        month = month.replace(day=1)
        month_end = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        near[month] = [e for e in events
                       if month - dt.timedelta(days=days) <= e["event_date"] <= month_end + dt.timedelta(days=days)]
    return near
