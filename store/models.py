"""The application store's tables (SQLAlchemy Core). What people write lives here, apart from the warehouse, which
every load rebuilds. The schema is created and changed only by the Alembic migrations in store/migrations; this
module describes the current revision for the queries."""

from __future__ import annotations

import sqlalchemy as sa

ALL_REGIONS = "*"  # the company-wide scope of an owner, comment, action or event

MAX_METRIC = 64
MAX_REGION = 64
MAX_USER = 64
MAX_COMMENT = 2000
MAX_TITLE = 200
MAX_NOTES = 2000
MAX_EVENT = 500
STATUSES = ("open", "done", "cancelled")
EVENT_KINDS = ("typhoon", "grid_fault", "tariff_change", "holiday", "system_change", "other")

metadata = sa.MetaData()

owners = sa.Table(
    "owners", metadata,
    sa.Column("metric", sa.String(MAX_METRIC), primary_key=True),
    sa.Column("region", sa.String(MAX_REGION), primary_key=True),
    sa.Column("owner", sa.String(MAX_USER), nullable=False),
    sa.Column("updated_by", sa.String(MAX_USER), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
)

comments = sa.Table(
    "comments", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("metric", sa.String(MAX_METRIC), nullable=False),
    sa.Column("period", sa.String(7), nullable=False),  # YYYY-MM: the month the comment explains
    sa.Column("region", sa.String(MAX_REGION), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("author", sa.String(MAX_USER), nullable=False),
    sa.Column("written_at", sa.DateTime(), nullable=False),
    sa.UniqueConstraint("metric", "period", "region", name="uq_comment_scope"),
)

actions = sa.Table(
    "actions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("metric", sa.String(MAX_METRIC), nullable=False),
    sa.Column("region", sa.String(MAX_REGION), nullable=False),
    sa.Column("title", sa.String(MAX_TITLE), nullable=False),
    sa.Column("owner", sa.String(MAX_USER), nullable=False),
    sa.Column("due", sa.Date, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("notes", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(MAX_USER), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.CheckConstraint("status IN ('open', 'done', 'cancelled')", name="ck_action_status"),
)

events = sa.Table(
    "events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_date", sa.Date, nullable=False),
    sa.Column("region", sa.String(MAX_REGION), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("text", sa.String(MAX_EVENT), nullable=False),
    sa.Column("created_by", sa.String(MAX_USER), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
)

# The scorecard file's targets and owners as last seen, so that a change to the file lands in the audit trail.
file_values = sa.Table(
    "file_values", metadata,
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

audit = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(), nullable=False),
    sa.Column("actor", sa.String(MAX_USER), nullable=False),
    sa.Column("entity", sa.String(16), nullable=False),  # owner, comment, action, event, target
    sa.Column("entity_key", sa.String(300), nullable=False),
    sa.Column("change", sa.String(16), nullable=False),  # create, update, delete
    sa.Column("old_value", sa.Text, nullable=True),  # JSON
    sa.Column("new_value", sa.Text, nullable=True),  # JSON
)
