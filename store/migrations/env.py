"""Alembic environment: run by store.open() in the process, on the connection it is handed (no alembic.ini, no
network). `alembic -x url=... upgrade head` from this folder's parent works too for an operator."""

from alembic import context
from sqlalchemy import create_engine

from store.models import metadata

config = context.config
connection = config.attributes.get("connection")

if connection is not None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if url is None:
        raise SystemExit("no database to migrate: give one with -x url=... or sqlalchemy.url")
    with create_engine(url).connect() as conn:
        context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
