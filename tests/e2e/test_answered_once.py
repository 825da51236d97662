"""A check analysed twice is answered once: a worker killed after publishing its analysis has the
check analysed again by the next worker (by then past its deadline: "try again"), and a stream write
retried after a lost reply puts the same check in the stream twice. The gate must hear one answer and
the figures count one row; a redelivery of the analysis that answered is answered again."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from maskwatch.contracts import GateAnalysis, TemperatureReading
from maskwatch.contracts.common import utc_now
from maskwatch.contracts.gate_analysis import AnalyzedFace
from maskwatch.mqtt import mqtt_client
from maskwatch.streams import Streams, append_many
from maskwatch.topics import Topics
from stack.in_process import Stack
from tests.e2e.test_gate_path import wait_for_rows

pytestmark = pytest.mark.timeout(120)


def masked_analysis(gate_id: str) -> GateAnalysis:
    now = utc_now()
    return GateAnalysis(
        gate_id=gate_id,
        check_id=uuid4(),
        captured_at=now - timedelta(milliseconds=40),
        received_at=now - timedelta(milliseconds=30),
        analyzed_at=now,
        temperature=TemperatureReading(corrected_c=36.6),
        faces=[AnalyzedFace(box=(100, 80, 300, 320), label="mask", score=0.98, detector_score=0.95)],
    )


async def test_a_check_analysed_twice_is_answered_once_and_stored_once(stack_settings, unique_id):
    from maskwatch.database.schema import checks, rejections

    settings = stack_settings
    gate_id = f"gate-{unique_id[:8]}"
    topics = Topics(settings.mqtt.topic_root)
    streams = Streams(settings.queue.prefix)
    stack = Stack(settings, ("gate-controller", "stats"))
    await stack.start(timeout=60)
    answers: Counter[UUID] = Counter()
    try:
        async with mqtt_client(settings.mqtt, identifier=f"watcher-{unique_id}") as watcher:
            await watcher.subscribe(topics.gate_verdict.format(gate_id=gate_id), qos=1)
            await watcher.subscribe(topics.gate_rejected.format(gate_id=gate_id), qos=1)

            async def answers_until(check_id: UUID) -> None:
                async for message in watcher.messages:
                    check = UUID(json.loads(bytes(message.payload))["check_id"])
                    answers[check] += 1
                    if check == check_id:
                        return

            first = masked_analysis(gate_id)
            again = first.model_copy(update={"analysis_id": uuid4(), "late_by_s": 3.0, "faces": []})
            marker = masked_analysis(gate_id)  # answered after both: by then the second was handled
            await append_many(stack.queue, streams.analyses, [first, again, marker])
            await asyncio.wait_for(answers_until(marker.check_id), 30)
            assert answers[first.check_id] == 1

            # The same analysis delivered again (the controller died before acknowledging it).
            second_marker = masked_analysis(gate_id)
            await append_many(stack.queue, streams.analyses, [first, second_marker])
            await asyncio.wait_for(answers_until(second_marker.check_id), 30)
            assert answers[first.check_id] == 2

        # Stats read the outcomes in order: once the last marker is stored, everything before it is.
        assert await wait_for_rows(settings, checks, checks.c.check_id == second_marker.check_id, 1) == 1
        assert await wait_for_rows(settings, checks, checks.c.check_id == first.check_id, 1) == 1
        assert await wait_for_rows(settings, rejections, rejections.c.check_id == first.check_id, 0) == 0
    finally:
        await stack.close()
