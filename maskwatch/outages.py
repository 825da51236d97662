"""Telling an outage of the infrastructure from a fault of the message being handled.

A batch that fails because Redis, the database or the network is away says
nothing about its entries: retrying it later will work, so it must neither be
counted towards dead-lettering nor dropped. A batch that fails on its own
content (a constraint it breaks, a bug it triggers) fails again however long
one waits, and after a few deliveries belongs with the dead letters.
"""

from __future__ import annotations

import sqlalchemy.exc as db_errors
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from maskwatch.queue import QueueUnavailable

OUTAGES: tuple[type[BaseException], ...] = (
    QueueUnavailable,
    ConnectionError,  # the built-in one: refused, reset, broken pipe
    TimeoutError,
    RedisConnectionError,  # includes Redis still loading its data after a restart
    RedisTimeoutError,
    db_errors.OperationalError,  # the database is down, restarting, or refused the connection
    db_errors.InterfaceError,
    db_errors.DisconnectionError,
    db_errors.TimeoutError,  # no connection free in the pool
)


def is_outage(exc: BaseException) -> bool:
    """Whether `exc`, or what caused it, is the infrastructure being away rather than the data at fault."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OUTAGES):
            return True
        if isinstance(current, db_errors.DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__ or current.__context__
    return False
