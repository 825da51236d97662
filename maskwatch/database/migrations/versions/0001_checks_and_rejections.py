"""Checks, their reasons, and rejected messages.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checks",
        sa.Column("check_id", sa.Uuid, primary_key=True),
        sa.Column("gate_id", sa.String(64), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("offline_decision", sa.String(8), nullable=True),
        sa.Column("message", sa.String(200), nullable=False),
        sa.Column("temperature_c", sa.Float, nullable=True),
        sa.Column("face_count", sa.SmallInteger, nullable=False),
        sa.Column("mask_label", sa.String(16), nullable=True),
        sa.Column("total_ms", sa.Float, nullable=False),
        sa.Column("model_ms", sa.Float, nullable=False),
    )
    op.create_index("ix_checks_decided_at", "checks", ["decided_at"])
    op.create_index("ix_checks_gate_decided_at", "checks", ["gate_id", "decided_at"])
    op.create_table(
        "check_reasons",
        sa.Column(
            "check_id",
            sa.Uuid,
            sa.ForeignKey("checks.check_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("reason", sa.String(32), primary_key=True),
        sa.Column("enforced", sa.Boolean, nullable=False),
    )
    op.create_index("ix_check_reasons_reason", "check_reasons", ["reason"])
    op.create_table(
        "rejections",
        sa.Column("rejection_id", sa.Uuid, primary_key=True),
        sa.Column("gate_id", sa.String(200), nullable=False),
        sa.Column("check_id", sa.Uuid, nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("detail", sa.String(1000), nullable=False),
        sa.Column("topic", sa.String(400), nullable=False),
    )
    op.create_index("ix_rejections_received_at", "rejections", ["received_at"])


def downgrade() -> None:
    op.drop_table("rejections")
    op.drop_table("check_reasons")
    op.drop_table("checks")
