"""Indoor cameras, and the alert lifecycle: a key chosen by the raiser, resolution, snapshots.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cameras",
        sa.Column("camera_id", sa.String(64), primary_key=True),
        sa.Column("site_id", sa.String(64), sa.ForeignKey("sites.site_id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("rtsp_url", sa.String(1000), nullable=True),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_cameras_site", "cameras", ["site_id"])
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("alert_key", sa.String(36), nullable=True))
        batch.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column(
                "resolved_by",
                sa.Integer,
                sa.ForeignKey("users.user_id", ondelete="SET NULL", name="fk_alerts_resolved_by"),
                nullable=True,
            )
        )
        batch.add_column(sa.Column("resolution", sa.String(16), nullable=True))
        batch.add_column(sa.Column("snapshot", sa.String(200), nullable=True))
        batch.add_column(sa.Column("crop", sa.String(200), nullable=True))
        batch.create_unique_constraint("uq_alerts_alert_key", ["alert_key"])


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("uq_alerts_alert_key", type_="unique")
        for column in ("crop", "snapshot", "resolution", "resolved_by", "resolved_at", "alert_key"):
            batch.drop_column(column)
    op.drop_index("ix_cameras_site", "cameras")
    op.drop_table("cameras")
