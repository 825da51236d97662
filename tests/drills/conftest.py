"""Each drill gets a world of its own (tests/drills/world.py): private Redis and Mosquitto, its own
database, the services as processes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import require_service
from tests.drills.world import Drill, open_drill


@pytest.fixture
async def drill(tmp_path: Path) -> AsyncIterator[Drill]:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    async with open_drill(tmp_path) as world:
        yield world
