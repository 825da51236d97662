"""A database with one site, a webhook recipient on the loopback receiver, and alerts to notify about."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa

from maskwatch.contracts import AlertKind, AlertTransition, Transition
from maskwatch.database.alerts import record_transition
from maskwatch.database.engine import create_engine, migrate
from maskwatch.database.notifications import add_recipient


@pytest.fixture
def database(tmp_path) -> Iterator[sa.Engine]:
    url = f"sqlite:///{tmp_path}/notify.db"
    migrate(url)
    engine = create_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def recipient(database, receiver) -> int:
    return add_recipient(
        database,
        site_id="default",
        channel="webhook",
        address=receiver.url,
        secrets={"webhook_secret": receiver.secret},
        kinds=["unmasked"],
    )


def opened_alert(database: sa.Engine, **overrides: Any) -> AlertTransition:
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "alert_id": uuid4(),
        "transition": Transition.OPENED,
        "at": now,
        "kind": AlertKind.UNMASKED,
        "site_id": "default",
        "device_id": "hall-1",
        "track": 3,
        "box": (10, 10, 60, 70),
        "unmasked_since": now - timedelta(seconds=75),
    }
    transition = AlertTransition(**(fields | overrides))
    with database.begin() as connection:
        record_transition(connection, transition)
    return transition


def resolved(opened: AlertTransition) -> AlertTransition:
    return opened.model_copy(
        update={"transition": Transition.RESOLVED, "why": "masked", "at": opened.at + timedelta(seconds=30)}
    )


def planned_delivery(database: sa.Engine, opened: AlertTransition) -> str:
    """The one delivery an opened alert owes the site's recipient, created as the notifier would."""
    from maskwatch.database.notifications import plan_deliveries, recipients_for

    with database.begin() as c:
        (delivery_id,) = plan_deliveries(
            c,
            alert_key=str(opened.alert_id),
            transition="opened",
            notification={
                "alert_id": str(opened.alert_id),
                "transition": "opened",
                "kind": "unmasked",
                "site_id": "default",
                "device_id": "hall-1",
                "at": opened.at.isoformat(),
            },
            recipients=recipients_for(c, "default", "unmasked"),
        )
    return str(delivery_id)
