"""Which checks are a person trying again: figures count people, not attempts.

A person refused at a gate (no mask on yet, "step closer") usually tries again at once. Counting each
attempt would make one person three denials; counting only the last would hide the attempts. So a check
is marked a retry when the previous check at the same gate was a denial decided at most the retry window
(`StatsSettings.retry_window_s`, 30 s by default) earlier; the figures then count visitors as checks
that are not retries, each visit's outcome being its last attempt (maskwatch/database/figures.py). A
pass ends a visit: the next check, however soon, is the next person. The mark is made when the check is
written, so a changed window applies to checks written afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

import sqlalchemy as sa

from maskwatch.contracts import Verdict
from maskwatch.database.figures import utc
from maskwatch.database.schema import checks


def retries(conn: sa.Connection, verdicts: Sequence[Verdict], window_s: float) -> list[UUID]:
    """The checks among `verdicts` (already written) that retry a denial at their gate."""
    window = timedelta(seconds=window_s)
    found: list[UUID] = []
    c = checks.c
    for verdict in verdicts:
        previous = conn.execute(
            sa.select(c.decision, c.decided_at)
            .where(
                c.gate_id == verdict.gate_id,
                c.decided_at < verdict.decided_at,
                c.check_id != verdict.check_id,
            )
            .order_by(c.decided_at.desc())
            .limit(1)
        ).first()
        if previous is None:
            continue
        decision, decided_at = previous
        if decision == "deny" and verdict.decided_at - utc(decided_at) <= window:
            found.append(verdict.check_id)
    return found
