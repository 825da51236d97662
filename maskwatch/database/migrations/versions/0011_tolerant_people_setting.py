"""The console's "tolerant" people setting follows the rules' new default detector score (0.3 -> 0.5).

The console stores its named setting as three explicit thresholds, so that a gate can be tolerant under
a strict site. When the default `other_face_detector_score` moved from 0.3 to 0.5 (re-chosen on the gate
validation's tune half, docs/model-card.md), the gates and sites stored with the old triple would have
shown as "custom" and kept the old value; they are moved to the new triple, and back on downgrade. Any
other combination is an admin's own and is left as it is.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

OLD = {"other_face_detector_score": 0.3, "other_face_width_share": 0.4, "other_face_overlap": 0.25}
NEW = {**OLD, "other_face_detector_score": 0.5}

entry_rules = sa.table(
    "entry_rules",
    sa.column("scope", sa.String),
    sa.column("subject_id", sa.String),
    sa.column("overrides", sa.JSON),
)


def _move(before: dict[str, float], after: dict[str, float]) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(entry_rules)).mappings().all()
    for row in rows:
        overrides: dict[str, Any] = dict(row["overrides"] or {})
        if all(overrides.get(key) == value for key, value in before.items()):
            connection.execute(
                entry_rules.update()
                .where(entry_rules.c.scope == row["scope"], entry_rules.c.subject_id == row["subject_id"])
                .values(overrides={**overrides, **after})
            )


def upgrade() -> None:
    _move(OLD, NEW)


def downgrade() -> None:
    _move(NEW, OLD)
