"""Rules changed in the console reach the gate controller's decisions at its next directory refresh,
read from the real PostgreSQL (the refresh driven by a clock the test turns)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from maskwatch.database import entry_rules
from maskwatch.database.engine import create_engine
from maskwatch.database.entry_rules import Scope
from maskwatch.database.schema import gates, sites
from maskwatch.entry_rules import PolicyConfig, StoredRules
from services.gate_controller.controller import rules_for, verdict_for
from services.gate_controller.directory import GateDirectory
from tests.api.databases import drop_postgres, new_postgres, postgres_template
from tests.gate_controller.test_policy import analysis, face

__all__ = ["new_postgres", "postgres_template"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _register(engine: sa.Engine) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(sa.insert(sites).values(site_id="hall", name="Hall", time_zone="UTC", created_at=now))
        conn.execute(sa.insert(gates).values(gate_id="g1", site_id="hall", name="G1", created_at=now))


async def test_a_stricter_site_threshold_denies_at_the_next_refresh(new_postgres) -> None:
    engine = create_engine(new_postgres())
    _register(engine)
    clock = Clock()
    directory = GateDirectory(engine, refresh_s=5.0, clock=clock)
    policy = PolicyConfig()
    await directory.refresh_if_stale()
    warm = analysis([face("mask")], temperature=37.3)
    assert verdict_for(warm, policy, directory.site_of("g1"), directory.rules).decision == "open"

    with engine.begin() as conn:
        entry_rules.store(conn, Scope.SITE, "hall", {"fever_threshold_c": 37.2}, user_id=None)

    clock.now += 4.9  # not stale yet: the rules as last read still apply
    await directory.refresh_if_stale()
    assert verdict_for(warm, policy, "hall", directory.rules).decision == "open"

    clock.now += 0.2
    await directory.refresh_if_stale()
    denied = verdict_for(warm, policy, "hall", directory.rules)
    assert denied.decision == "deny"
    assert denied.reasons == ["fever"]

    # The gate's own exception wins over its site's.
    with engine.begin() as conn:
        entry_rules.store(conn, Scope.GATE, "g1", {"temperature": "soft"}, user_id=None)
    clock.now += 5.0
    await directory.refresh_if_stale()
    let_in = verdict_for(warm, policy, "hall", directory.rules)
    assert let_in.decision == "open"
    assert let_in.flags == ["fever"]
    engine.dispose()


async def test_rules_stay_as_last_read_while_the_database_is_away(new_postgres) -> None:
    url = new_postgres()
    engine = create_engine(url)
    _register(engine)
    with engine.begin() as conn:
        entry_rules.store(conn, Scope.SITE, "hall", {"mask": "off"}, user_id=None)
    clock = Clock()
    directory = GateDirectory(engine, clock=clock)
    await directory.refresh_if_stale()
    engine.dispose()
    drop_postgres(url)  # the database is gone: the next refresh fails
    clock.now += 60
    await directory.refresh_if_stale()
    assert directory.rules.sites == {"hall": {"mask": "off"}}
    assert directory.site_of("g1") == "hall"


def test_contradicting_stored_rules_fall_back_to_the_settings() -> None:
    stored = StoredRules(gates={"g1": {"plausible_min_c": 44.0}})
    rules = rules_for("g1", PolicyConfig(fever_threshold_c=37.0), "hall", stored)
    assert rules.plausible_min_c == 30.0
    assert rules.fever_threshold_c == 37.0


def test_stored_rules_round_trip_and_empty_overrides_remove_the_row(new_postgres) -> None:
    engine = create_engine(new_postgres())
    _register(engine)
    with engine.begin() as conn:
        entry_rules.store(conn, Scope.GATE, "g1", {"mask": "soft"}, user_id=None)
        assert entry_rules.load(conn, Scope.GATE, "g1") == {"mask": "soft"}
        entry_rules.store(conn, Scope.GATE, "g1", {}, user_id=None)
        assert entry_rules.load_all(conn) == StoredRules()
    engine.dispose()
