"""One log format for every service: time, level, service, message (messages name the gate)."""

from __future__ import annotations

import logging
import os


def configure_logging(service: str, level: str | None = None) -> None:
    logging.basicConfig(
        level=(level or os.environ.get("MASKWATCH_LOG_LEVEL", "INFO")).upper(),
        format=f"%(asctime)s %(levelname)-7s [{service}] %(name)s: %(message)s",
        force=True,
    )
    for noisy in ("amqtt", "transitions", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
