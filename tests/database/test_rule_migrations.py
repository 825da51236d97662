"""Migration 0011: gates and sites the console set to "tolerant" keep that setting's meaning."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from maskwatch.database.engine import alembic_config, create_engine
from maskwatch.database.schema import entry_rules
from maskwatch.entry_rules import RuleSet
from tests.api.databases import database_url, new_postgres, postgres_template

__all__ = ["database_url", "new_postgres", "postgres_template"]

OLD_TOLERANT = {"other_face_detector_score": 0.3, "other_face_width_share": 0.4, "other_face_overlap": 0.25}
STRICT = {"other_face_detector_score": 0, "other_face_width_share": 0, "other_face_overlap": 1}
STORED = {
    ("gate", "tolerant-gate"): {**OLD_TOLERANT, "fever_threshold_c": 38.0},
    ("site", "tolerant-site"): OLD_TOLERANT,
    ("gate", "own-choice"): {**OLD_TOLERANT, "other_face_width_share": 0.3},
    ("gate", "strict"): STRICT,
    ("site", "fever-only"): {"fever_threshold_c": 37.8},
}


def stored(engine: sa.Engine) -> dict[tuple[str, str], dict[str, float]]:
    with engine.connect() as c:
        return {(r.scope, r.subject_id): r.overrides for r in c.execute(sa.select(entry_rules))}


def test_the_old_tolerant_triple_moves_to_the_new_default_and_back(database_url: str) -> None:
    config = alembic_config(database_url)
    command.downgrade(config, "0010")
    engine = create_engine(database_url)
    try:
        with engine.begin() as c:
            for (scope, subject), overrides in STORED.items():
                c.execute(
                    entry_rules.insert().values(
                        scope=scope, subject_id=subject, overrides=overrides, updated_at=datetime.now(UTC)
                    )
                )
        command.upgrade(config, "head")
        after = stored(engine)
        new_default = RuleSet().other_face_detector_score
        assert after[("gate", "tolerant-gate")] == {
            **OLD_TOLERANT,
            "other_face_detector_score": new_default,
            "fever_threshold_c": 38.0,
        }
        assert after[("site", "tolerant-site")] == {**OLD_TOLERANT, "other_face_detector_score": new_default}
        for untouched in (("gate", "own-choice"), ("gate", "strict"), ("site", "fever-only")):
            assert after[untouched] == STORED[untouched]
        command.downgrade(config, "0010")
        assert stored(engine) == STORED
    finally:
        engine.dispose()
