"""What the HTTP channels share: reading a receiver's answer into success or `DeliveryFailed`.

Webhooks, FCM and Web Push speak the same dialect of failure: 429 and 5xx mean
"later" (with `Retry-After` when the receiver knows how much later), a few 4xx
mean "this address is gone". Keeping the reading in one place keeps the three
channels from drifting apart on what a 503 means.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from services.notifier.channels.base import DeliveryFailed

ANSWER_EXCERPT = 300
"""How much of a receiver's answer is kept, in the delivery record or a failure's reason."""


def retry_after_s(response: httpx.Response, *, now: datetime | None = None) -> float | None:
    """`Retry-After` in seconds: either delay-seconds or an HTTP date (RFC 9110 §10.2.3); None when absent
    or unreadable, so the job falls back to its own backoff."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def excerpt(response: httpx.Response) -> str:
    return response.text[:ANSWER_EXCERPT]


def transport_failure(error: httpx.HTTPError) -> DeliveryFailed:
    """Connection refused, DNS, TLS, timeouts: the receiver may be back soon."""
    return DeliveryFailed(f"{type(error).__name__}: {error}")


def status_failure(response: httpx.Response, *, gone: frozenset[int], what: str = "") -> DeliveryFailed:
    """A non-2xx answer as a failure: permanent for the statuses in `gone` (the address is dead),
    otherwise retryable, honouring `Retry-After`.

    Other 4xx stay retryable on purpose: a 401 or 400 is usually our configuration or a receiver mid-deploy,
    and dropping the recipient for it would lose them for good; the job's last try dead-letters it instead.
    """
    reason = f"{what or 'HTTP'} {response.status_code}: {excerpt(response)}".strip()
    if response.status_code in gone:
        return DeliveryFailed(reason, permanent=True)
    return DeliveryFailed(reason, retry_after_s=retry_after_s(response))
