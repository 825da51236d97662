"""Answering a device whose message the server refused."""

from __future__ import annotations

import aiomqtt

from maskwatch.contracts import Rejection
from maskwatch.queue import WorkQueue
from maskwatch.streams import Streams, append
from maskwatch.topics import Topics


async def publish_rejection(
    client: aiomqtt.Client, topics: Topics, queue: WorkQueue, streams: Streams, rejection: Rejection
) -> None:
    """Tell the gate at once and record the rejection for the stats."""
    await append(queue, streams.outcomes, rejection)
    await answer_rejection(client, topics, rejection)


async def answer_rejection(client: aiomqtt.Client, topics: Topics, rejection: Rejection) -> None:
    """Tell the gate on its `rejected` topic (recording it is the caller's)."""
    try:
        topic = topics.gate_rejected.format(gate_id=rejection.gate_id)
    except ValueError:
        return  # the topic level itself was unusable: nothing to answer on
    await client.publish(topic, rejection.to_json(), qos=1)
