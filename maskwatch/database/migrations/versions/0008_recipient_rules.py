"""Recipient rules (the least severity heard, quiet hours, a rate limit) and held deliveries.

A delivery held by quiet hours or a rate limit keeps `held_since`; the next
message out to that recipient carries every held one as a digest.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "notification_recipients",
        sa.Column("min_severity", sa.String(16), nullable=False, server_default="info"),
    )
    op.add_column("notification_recipients", sa.Column("quiet_hours", sa.JSON, nullable=True))
    op.add_column("notification_recipients", sa.Column("rate_limit", sa.String(32), nullable=True))
    op.add_column("deliveries", sa.Column("held_since", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_deliveries_recipient_status", "deliveries", ["recipient_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_recipient_status", "deliveries")
    op.drop_column("deliveries", "held_since")
    op.drop_column("notification_recipients", "rate_limit")
    op.drop_column("notification_recipients", "quiet_hours")
    op.drop_column("notification_recipients", "min_severity")
