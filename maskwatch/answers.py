"""Checks waiting for their answer (a Verdict or a Rejection), matched by check_id.

Both the gate's client and the server's HTTP door publish a check and wait for
its answer on the gate's `verdict` and `rejected` topics; this is the one place
that decodes those answers and hands each to the check it belongs to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from uuid import UUID, uuid4

from maskwatch.contracts import Rejection, Verdict, decode
from maskwatch.topics import Topics

log = logging.getLogger(__name__)

Answer = Verdict | Rejection


class PendingAnswers:
    def __init__(self, topics: Topics) -> None:
        self._topics = topics
        self._waiting: dict[UUID, asyncio.Future[Answer]] = {}
        self._anonymous: set[UUID] = set()  # raw sends whose check_id is unknown here

    def decode(self, topic: str, payload: bytes | str) -> Answer | None:
        """The answer carried by `topic`, or None when it is no answer topic; raises ContractError."""
        if self._topics.gate_verdict.match(topic):
            return decode(Verdict, payload)
        if self._topics.gate_rejected.match(topic):
            return decode(Rejection, payload)
        return None

    @contextlib.contextmanager
    def expecting(self, check_id: UUID | None) -> Iterator[asyncio.Future[Answer]]:
        """A future for the answer to `check_id` (None: a payload whose id we do not know)."""
        key = check_id or uuid4()
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        if check_id is None:
            self._anonymous.add(key)
        try:
            yield future
        finally:
            self._waiting.pop(key, None)
            self._anonymous.discard(key)

    def resolve(self, answer: Answer) -> bool:
        """Hand `answer` to the check waiting for it; False when nothing waits (a late answer)."""
        future = self._waiting.get(answer.check_id) if answer.check_id else None
        if future is None and len(self._waiting) == 1 and self._anonymous == set(self._waiting):
            # A raw send's id is unknown here; with only it in flight, the answer must be for it.
            future = next(iter(self._waiting.values()))
        if future is None:
            return False
        if not future.done():
            future.set_result(answer)
        return True
