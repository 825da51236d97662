"""The API's figures count people: a denied person trying again at the same gate is one visitor.

Real stats writer, real database, the API as served; the checks carry their own times (a fixed day long
past), so no clock is read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from maskwatch.contracts import Decision, Reason
from tests.api.conftest import verdict

DAY = datetime(2025, 6, 3, 10, 0, tzinfo=UTC)


def test_a_retry_is_one_visitor_and_the_attempts_stay_visible(world):
    first = verdict("a-1", DAY, Decision.DENY, [Reason.NO_MASK])
    again = verdict("a-1", DAY + timedelta(seconds=12), Decision.DENY, [Reason.NO_MASK])
    passed = verdict("a-1", DAY + timedelta(seconds=20))
    world.write(first, again, passed)
    client = world.client("viewer_a")
    day = DAY.astimezone(UTC).date().isoformat()
    body = client.get(f"/api/v1/sites/a/stats?from={day}&to={day}").json()
    figures = body["figures"]
    assert (figures["visitors"], figures["passed"], figures["denied"]) == (1, 1, 0)
    assert (figures["attempts"], figures["attempts_denied"], figures["retries"]) == (3, 2, 2)
    assert figures["denied_by_reason"] == {"no_mask": 2}
    assert figures["flagged_by_reason"] == {}
    # The retry mark is the figures' own: the check shows no reason or flag it did not have.
    check = client.get(f"/api/v1/checks/{passed.check_id}").json()
    assert (check["reasons"], check["flags"]) == ([], [])
