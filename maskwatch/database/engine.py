"""Database engine and migrations, for PostgreSQL in production and SQLite on one machine."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from pydantic import BaseModel

MIGRATIONS = Path(__file__).parent / "migrations"


class DatabaseSettings(BaseModel):
    """Where every service finds the database (`MASKWATCH_DATABASE__*`)."""

    url: str = "sqlite:///var/maskwatch.db"
    """`postgresql://user:pass@host/db` in production; SQLite for a one-machine setup."""


def sqlalchemy_url(url: str) -> str:
    """Accept the URLs operators write (postgresql://…) and pick the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _make_sqlite_folder(url: str) -> None:
    """SQLite creates its file but not the folder it is in: make that folder, as a server makes its data
    directory, so a database named anywhere (var/demo.db, a test's folder) works on its first use."""
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def create_engine(url: str) -> sa.Engine:
    url = sqlalchemy_url(url)
    if url.startswith("sqlite:///"):
        _make_sqlite_folder(url)
        engine = sa.create_engine(url)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


_MIGRATING = threading.Lock()
ADVISORY_LOCK_KEY = 0x6D61736B  # one migration at a time across every process sharing the database


def alembic_config(url: str) -> Config:
    """Alembic's configuration for the migrations in this package, against `url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the schema to the newest migrations (every head: migrations written side by side apply in
    any order); safe to run at every start, from every service at once.

    Alembic keeps its context in module state, so runs in one process are
    serialised by a lock, and runs in several processes by a PostgreSQL advisory lock.
    """
    _make_sqlite_folder(sqlalchemy_url(url))
    config = alembic_config(url)
    with _MIGRATING:
        if not sqlalchemy_url(url).startswith("postgresql"):
            command.upgrade(config, "heads")
            return
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
                try:
                    command.upgrade(config, "heads")
                finally:
                    connection.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
        finally:
            engine.dispose()
