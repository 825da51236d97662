"""Keys the server makes for itself once and then keeps: made by whichever process needs one first.

A browser's push subscription is bound to the VAPID public key it was made
with, so the API that hands the key out and the notifier that signs with it
must agree on one key pair, and keep it across restarts. Both ask for it here;
the first to ask makes it, and a second process asking at the same moment gets
the one that was stored, never its own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from maskwatch.database.schema import server_keys


def get(connection: sa.Connection, name: str) -> str | None:
    value = connection.execute(sa.select(server_keys.c.value).where(server_keys.c.name == name)).scalar()
    return None if value is None else str(value)


def get_or_create(connection: sa.Connection, name: str, make: Callable[[], str]) -> str:
    """The key stored as `name`, made with `make()` and stored if there is none yet. The caller commits.

    Two processes making it at once both insert, and the second insert does nothing (it waits for the
    first to commit on PostgreSQL): both then read and return the first one's key.
    """
    existing = get(connection, name)
    if existing is not None:
        return existing
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    connection.execute(
        insert(server_keys)
        .values(name=name, value=make(), created_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=["name"])
    )
    stored = get(connection, name)
    if stored is None:  # pragma: no cover - the row was just inserted or was there
        raise RuntimeError(f"server key {name!r} was neither stored nor found")
    return stored
