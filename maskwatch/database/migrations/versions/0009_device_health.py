"""Device health and lifecycle: each device's latest retained status, and revoked credentials.

`device_status` keeps what the device health service last heard from a gate or
camera on its retained status topic (online or not, when, which software, how
its sensors are), so the API answers without a broker connection of its own.
`revoked_at` on gates and cameras records that an admin took a device's broker
account away: it stays registered (its history still counts) but cannot sign in.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_status",
        sa.Column("device_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("online", sa.Boolean, nullable=False),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("software_version", sa.String(64), nullable=True),
        sa.Column("config_version", sa.String(64), nullable=True),
        sa.Column("sensors", sa.JSON, nullable=True),
    )
    for table in ("gates", "cameras"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table in ("cameras", "gates"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("revoked_at")
    op.drop_table("device_status")
