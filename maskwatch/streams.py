"""The queue streams between services, declared once: what each carries and who reads it.

A stream names the contracts its entries may hold (one `EntryKind` per
contract) and the consumer groups that read it; each group gets every entry
and acknowledges it on its own, and an entry is deleted once every declared
group has acknowledged it, so a second reader (the notifier beside the database
writer, say) is one more name in `groups`. Producers append messages,
never bare strings, and consumers get contracts back (`maskwatch.consumer`).

    MQTT gates/+/check ─▶ ingest ─▶ CHECKS ─▶ inference ─▶ ANALYSES ─▶ gate_controller
                                                                        │
                         MQTT gates/{id}/verdict ◀───────────────────────┤
                                                    OUTCOMES ◀───────────┘
                                                        │
                                                        ▼
                                                      stats ─▶ database
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from maskwatch.contracts import (
    AlertTransition,
    CameraAnalysis,
    DeliveryRetry,
    GateAnalysis,
    Message,
    ReceivedCameraFrame,
    ReceivedGateCheck,
    Rejection,
    Verdict,
)
from maskwatch.contracts.binary_frame import ImagePath, split_image

if TYPE_CHECKING:
    from maskwatch.queue.base import NewEntry, WorkQueue


FRAMES_KEPT = 1000
"""Camera frames waiting at most: a few minutes of a busy site's cameras at 2 fps."""


class EntryKind(StrEnum):
    """The `kind` field of a stream entry: which contract its data holds."""

    GATE_CHECK = "gate_check"
    GATE_ANALYSIS = "gate_analysis"
    VERDICT = "verdict"
    REJECTION = "rejection"
    CAMERA_FRAME = "camera_frame"
    CAMERA_ANALYSIS = "camera_analysis"
    ALERT_TRANSITION = "alert_transition"
    DELIVERY_RETRY = "delivery_retry"


ENTRY_CONTRACTS: dict[EntryKind, type[Message]] = {
    EntryKind.GATE_CHECK: ReceivedGateCheck,
    EntryKind.GATE_ANALYSIS: GateAnalysis,
    EntryKind.VERDICT: Verdict,
    EntryKind.REJECTION: Rejection,
    EntryKind.CAMERA_FRAME: ReceivedCameraFrame,
    EntryKind.CAMERA_ANALYSIS: CameraAnalysis,
    EntryKind.ALERT_TRANSITION: AlertTransition,
    EntryKind.DELIVERY_RETRY: DeliveryRetry,
}
_KIND_OF: dict[type[Message], EntryKind] = {contract: kind for kind, contract in ENTRY_CONTRACTS.items()}

IMAGE_PATHS: dict[EntryKind, ImagePath] = {
    EntryKind.GATE_CHECK: ("check", "image_jpeg"),
    EntryKind.CAMERA_FRAME: ("frame", "image_jpeg"),
    EntryKind.CAMERA_ANALYSIS: ("image_jpeg",),
}
"""Where the image sits in the contracts that carry one: an entry holds it as a binary field of its
own beside the JSON, so no service base64-encodes or decodes an image between ingest and the model."""


class Group(StrEnum):
    """The consumer groups: one per service that reads a stream."""

    INFERENCE = "inference"
    GATE_CONTROLLER = "gate_controller"
    STATS = "stats"
    MONITORING = "monitoring"
    NOTIFIER = "notifier"


@dataclass(frozen=True)
class StreamGroup:
    """One consumer group on one stream: what a queue backend reads, acknowledges and dead-letters."""

    stream: str
    group: str
    kinds: tuple[EntryKind, ...]
    groups: tuple[str, ...] = ()
    """Every group declared on the stream: created together, so none misses an entry; and an entry
    is deleted only once all of them have acknowledged it."""

    @property
    def shared(self) -> bool:
        """Whether other groups read this stream too (acknowledging then must not delete)."""
        return any(g != self.group for g in self.groups)

    @property
    def dead_letters(self) -> str:
        """Where an entry goes after it failed too many deliveries, for an operator to inspect."""
        return dead_letter_stream(self.stream)


def dead_letter_stream(stream: str) -> str:
    return f"{stream}:dead"


@dataclass(frozen=True)
class Stream:
    key: str
    kinds: tuple[EntryKind, ...]
    groups: tuple[Group, ...]
    max_length: int | None = None
    """Entries kept at most; appending beyond it drops the oldest (for samples, never for records)."""

    def read_by(self, group: Group) -> StreamGroup:
        if group not in self.groups:
            raise ValueError(f"{group.value} does not read {self.key}")
        return StreamGroup(self.key, group.value, self.kinds, tuple(g.value for g in self.groups))

    def kind_of(self, message: Message) -> EntryKind:
        kind = _KIND_OF.get(type(message))
        if kind is None or kind not in self.kinds:
            raise TypeError(f"{self.key} does not carry {type(message).__name__}")
        return kind

    @property
    def dead_letters(self) -> str:
        return dead_letter_stream(self.key)


@dataclass(frozen=True)
class Streams:
    prefix: str = "maskwatch"

    @property
    def checks(self) -> Stream:
        """Checks accepted by ingest, awaiting the inference worker."""
        return Stream(f"{self.prefix}:checks", (EntryKind.GATE_CHECK,), (Group.INFERENCE,))

    @property
    def analyses(self) -> Stream:
        """Faces and masks found in each check, awaiting the gate controller's policy."""
        return Stream(f"{self.prefix}:analyses", (EntryKind.GATE_ANALYSIS,), (Group.GATE_CONTROLLER,))

    @property
    def outcomes(self) -> Stream:
        """Verdicts and rejections, awaiting the database writer."""
        return Stream(f"{self.prefix}:outcomes", (EntryKind.VERDICT, EntryKind.REJECTION), (Group.STATS,))

    @property
    def frames(self) -> Stream:
        """Camera frames awaiting the inference worker, which reads gate checks first. Capped: when the
        worker falls behind, the oldest frames give way (frames are samples; a newer one replaces them)."""
        return Stream(
            f"{self.prefix}:frames", (EntryKind.CAMERA_FRAME,), (Group.INFERENCE,), max_length=FRAMES_KEPT
        )

    @property
    def camera_analyses(self) -> Stream:
        """Faces and masks found in camera frames, awaiting the monitoring service."""
        return Stream(f"{self.prefix}:camera_analyses", (EntryKind.CAMERA_ANALYSIS,), (Group.MONITORING,))

    @property
    def alerts(self) -> Stream:
        """Alert transitions (opened, acknowledged, resolved), for the database writer and the notifier."""
        return Stream(f"{self.prefix}:alerts", (EntryKind.ALERT_TRANSITION,), (Group.STATS, Group.NOTIFIER))

    @property
    def delivery_retries(self) -> Stream:
        """Dead deliveries an admin revived, for the notifier to hand to its runner now."""
        return Stream(f"{self.prefix}:delivery_retries", (EntryKind.DELIVERY_RETRY,), (Group.NOTIFIER,))

    def all(self) -> tuple[Stream, ...]:
        return (
            self.checks,
            self.analyses,
            self.outcomes,
            self.frames,
            self.camera_analyses,
            self.alerts,
            self.delivery_retries,
        )

    def named(self, name: str) -> Stream:
        """A stream by its short name (`checks`) or its key (`maskwatch:checks`), for operators' tools."""
        for stream in self.all():
            if name in (stream.key, stream.key.removeprefix(f"{self.prefix}:")):
                return stream
        known = ", ".join(s.key.removeprefix(f"{self.prefix}:") for s in self.all())
        raise KeyError(f"no stream {name!r}; the streams are {known}")


def delivery_job_queue(prefix: str) -> str:
    """The rq queue of notification deliveries, per installation like the streams. rq, not a stream:
    deliveries are independent jobs, retried and scheduled one by one, never batched."""
    return f"{prefix}:deliveries"


def new_entry(stream: Stream, message: Message) -> NewEntry:
    """`message` as an entry of `stream`: its kind, its JSON, and its image apart as raw bytes."""
    from maskwatch.queue.base import NewEntry

    kind = stream.kind_of(message)
    path = IMAGE_PATHS.get(kind)
    if path is None:
        return NewEntry(kind.value, message.to_json())
    data, image = split_image(message, path)
    return NewEntry(kind.value, data, image)


async def append(queue: WorkQueue, stream: Stream, message: Message) -> str:
    """Add `message` to `stream` under its contract's kind; refuses a contract the stream does not carry."""
    entry = new_entry(stream, message)
    return await queue.add(
        stream.key, entry.kind, entry.data, image=entry.image, max_length=stream.max_length
    )


async def append_many(queue: WorkQueue, stream: Stream, messages: Sequence[Message]) -> list[str]:
    """`append` for a batch, in one round trip: what a worker writes after each model run."""
    entries = [new_entry(stream, m) for m in messages]
    return await queue.add_many(stream.key, entries, max_length=stream.max_length)
