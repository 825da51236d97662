"""Fresh, migrated databases for tests: PostgreSQL copies of a migrated template, or SQLite files.

Copying a template is much faster than running the migrations for every test,
so each test that writes can have a database of its own. Import the fixtures
into a test module (or a conftest) to use them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from maskwatch.database.engine import migrate


def _admin_url(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/postgres"


def _create(url: str, name: str, template: str | None = None) -> str:
    with psycopg.connect(_admin_url(url), autocommit=True) as admin:
        suffix = f' TEMPLATE "{template}"' if template else ""
        admin.execute(f'CREATE DATABASE "{name}"{suffix}')
    return url.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(_admin_url(url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_template(postgres_url: str) -> Iterator[str]:
    """The name of a database migrated once for the session, to copy from."""
    name = f"mw_tpl_{uuid.uuid4().hex[:10]}"
    url = _create(postgres_url, name)
    migrate(url)
    yield name
    drop_postgres(url)


@pytest.fixture
def new_postgres(postgres_url: str, postgres_template: str) -> Iterator[Callable[[], str]]:
    """A factory of fresh migrated PostgreSQL databases, dropped after the test."""
    made: list[str] = []

    def make() -> str:
        made.append(_create(postgres_url, f"mw_{uuid.uuid4().hex[:12]}", postgres_template))
        return made[-1]

    yield make
    for url in made:
        drop_postgres(url)


def fresh_sqlite(directory: Path) -> str:
    url = f"sqlite:///{directory}/maskwatch-{uuid.uuid4().hex[:8]}.db"
    migrate(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh migrated database of each kind."""
    if request.param == "sqlite":
        return fresh_sqlite(tmp_path)
    make: Callable[[], str] = request.getfixturevalue("new_postgres")
    return make()
