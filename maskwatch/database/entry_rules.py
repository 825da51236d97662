"""The entry rules admins set per site and per gate, as the database keeps them.

One row per site or gate that has any; a row whose overrides become empty is deleted, so "inherits
everything" has one representation. The gate controller reads them all at once (a few rows per gate at
most) and the API reads and writes one subject at a time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from maskwatch.database.schema import entry_rules
from maskwatch.entry_rules import StoredRules


class Scope(StrEnum):
    SITE = "site"
    GATE = "gate"


def load_all(connection: sa.Connection) -> StoredRules:
    """Every stored override, for the gate controller's directory."""
    stored = StoredRules()
    rows = connection.execute(
        sa.select(entry_rules.c.scope, entry_rules.c.subject_id, entry_rules.c.overrides)
    )
    for scope, subject_id, overrides in rows:
        target = stored.sites if scope == Scope.SITE else stored.gates
        target[subject_id] = dict(overrides)
    return stored


def load(connection: sa.Connection, scope: Scope, subject_id: str) -> dict[str, Any]:
    """What the admins set for one site or gate (empty when nothing)."""
    overrides = connection.execute(
        sa.select(entry_rules.c.overrides).where(
            entry_rules.c.scope == scope.value, entry_rules.c.subject_id == subject_id
        )
    ).scalar()
    return dict(overrides) if overrides else {}


def store(
    connection: sa.Connection,
    scope: Scope,
    subject_id: str,
    overrides: dict[str, Any],
    *,
    user_id: int | None,
) -> None:
    """Replace one subject's overrides (the caller commits); empty overrides remove the row."""
    where = (entry_rules.c.scope == scope.value, entry_rules.c.subject_id == subject_id)
    connection.execute(sa.delete(entry_rules).where(*where))
    if overrides:
        connection.execute(
            sa.insert(entry_rules).values(
                scope=scope.value,
                subject_id=subject_id,
                overrides=overrides,
                updated_at=datetime.now(UTC),
                updated_by=user_id,
            )
        )


def forget(connection: sa.Connection, scope: Scope, subject_id: str) -> None:
    """Drop what was set for a site or gate that is being deleted (the caller commits)."""
    store(connection, scope, subject_id, {}, user_id=None)
