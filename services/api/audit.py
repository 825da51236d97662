"""The audit log: every change an admin, operator or integration makes, and every sign-in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from maskwatch.database.schema import audit_log
from services.api.security import Caller


def record(
    conn: sa.Connection,
    caller: Caller | None,
    action: str,
    target: str,
    *,
    site_id: str | None = None,
    user_id: int | None = None,
    **details: Any,
) -> None:
    """Add one entry in the caller's transaction, so the action and its record commit together."""
    if caller is not None:
        details.setdefault("via", caller.via)
    conn.execute(
        sa.insert(audit_log).values(
            at=datetime.now(UTC),
            user_id=caller.user_id if caller is not None else user_id,
            action=action,
            target=target[:200],
            site_id=site_id,
            details=details,
        )
    )
