"""A fresh, uniquely named, migrated PostgreSQL database for one test module, dropped afterwards.

The dashboards' tests count rows and deliveries: a database of their own keeps
other tests' checks, alerts and webhook recipients out of their figures.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from maskwatch.database.engine import migrate


def _admin_url(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/postgres"


@contextmanager
def scratch_database(postgres_url: str, prefix: str) -> Iterator[str]:
    """The URL of a new database on the server of `postgres_url`, migrated, named `prefix` + a random id."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_admin_url(postgres_url), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate(url)
        yield url
    finally:
        with psycopg.connect(_admin_url(postgres_url), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
