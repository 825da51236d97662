"""Alembic environment: runs the migrations against the URL the caller configured."""

from __future__ import annotations

from alembic import context

from maskwatch.database.engine import create_engine
from maskwatch.database.schema import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url")
if url is None:
    raise RuntimeError("sqlalchemy.url is not set")

engine = create_engine(url)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
