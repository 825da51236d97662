"""The notifier service: alert transitions in, deliveries planned once and handed to the runner.

It reads the alerts stream as its own consumer group (the database writer is
the other reader). For each transition it finds the site's recipients who hear
of that kind, creates each delivery under its unique key in the same
transaction, and hands every still-pending one to the runner. A redelivered
transition creates nothing new; it only re-submits what is still pending, which
the deliverer will not send twice. When it starts, it submits every delivery
still pending (owed from before a restart); while it runs, a `DeliveryRetry`
on its second stream submits the dead deliveries an admin just revived.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from maskwatch.consumer import ConsumerSettings, consume_messages
from maskwatch.contracts import AlertTransition, DeliveryRetry, Message
from maskwatch.database.notifications import PENDING, list_deliveries, plan_deliveries, recipients_for
from maskwatch.database.schema import alerts, sites
from maskwatch.queue import QueueSettings, WorkQueue
from maskwatch.streams import Group, Streams
from services.notifier.runners import DeliveryRunner

log = logging.getLogger(__name__)


class NotifierService:
    def __init__(
        self,
        queue: WorkQueue,
        database: sa.Engine,
        runner: DeliveryRunner,
        *,
        queue_settings: QueueSettings,
        consumer: ConsumerSettings,
        dashboard_url: str,
        name: str = "notifier-1",
    ) -> None:
        self._queue = queue
        self._database = database
        self._runner = runner
        self._queue_settings = queue_settings
        self._consumer = consumer
        self._dashboard_url = dashboard_url.rstrip("/")
        self._streams = Streams(queue_settings.prefix)
        self.name = name

    async def run(self, stop: asyncio.Event | None = None, *, burst: bool = False) -> int:
        for delivery_id in await asyncio.to_thread(self._pending):
            self._runner.submit(delivery_id)  # owed from before a restart, or revived by an admin
        return await consume_messages(
            self._queue,
            (
                self._streams.alerts.read_by(Group.NOTIFIER),
                self._streams.delivery_retries.read_by(Group.NOTIFIER),
            ),
            consumer=self.name,
            handle=self.handle_batch,
            settings=self._consumer,
            max_deliveries=self._queue_settings.max_deliveries,
            stop=stop,
            burst=burst,
        )

    async def handle_batch(self, messages: Sequence[Message]) -> None:
        transitions = [m for m in messages if isinstance(m, AlertTransition)]
        planned = await asyncio.to_thread(self._plan, transitions) if transitions else []
        revived = [i for m in messages if isinstance(m, DeliveryRetry) for i in m.delivery_ids]
        if revived:
            log.info("notifier: %d revived deliveries handed to the runner", len(revived))
        for delivery_id in dict.fromkeys(planned + revived):  # twice in one batch: one submission
            self._runner.submit(delivery_id)

    def _pending(self) -> list[str]:
        with self._database.connect() as connection:
            return [row.delivery_id for row in list_deliveries(connection, PENDING, limit=10_000)]

    def _plan(self, transitions: Sequence[AlertTransition]) -> list[str]:
        planned: list[str] = []
        with self._database.begin() as connection:
            for transition in transitions:
                recipients = recipients_for(connection, transition.site_id, transition.kind.value)
                if not recipients:
                    continue
                planned += plan_deliveries(
                    connection,
                    alert_key=str(transition.alert_id),
                    transition=transition.transition.value,
                    notification=self._notification(connection, transition),
                    recipients=recipients,
                )
        return planned

    def _notification(self, connection: sa.Connection, transition: AlertTransition) -> dict[str, Any]:
        """What every delivery of this transition says, stored with it so a retry says the same."""
        site_name = connection.execute(
            sa.select(sites.c.name).where(sites.c.site_id == transition.site_id)
        ).scalar()
        alert_id = connection.execute(
            sa.select(alerts.c.alert_id).where(alerts.c.alert_key == str(transition.alert_id))
        ).scalar()
        snapshot = transition.snapshot
        if snapshot is None:
            snapshot = connection.execute(
                sa.select(alerts.c.snapshot).where(alerts.c.alert_key == str(transition.alert_id))
            ).scalar()
        link = f"{self._dashboard_url}/alerts/{alert_id}" if alert_id else f"{self._dashboard_url}/alerts"
        return {
            "alert_id": str(transition.alert_id),
            "transition": transition.transition.value,
            "kind": transition.kind.value,
            "site_id": transition.site_id,
            "site_name": site_name or transition.site_id,
            "device_id": transition.device_id,
            "at": transition.at.isoformat(),
            "unmasked_since": transition.unmasked_since.isoformat() if transition.unmasked_since else None,
            "offline_since": transition.offline_since.isoformat() if transition.offline_since else None,
            "why": transition.why,
            "link": link,
            "snapshot": snapshot,
        }
