"""Sites, gates, accounts, API tokens, alerts, audit log, and the hourly roll-up of checks.

The roll-up is kept by triggers on `checks` and `check_reasons`, so it stays
current whichever process writes the checks; existing checks are rolled up here.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

POSTGRES_TRIGGERS = [
    """
    CREATE OR REPLACE FUNCTION maskwatch_rollup_check() RETURNS trigger AS $$
    BEGIN
      INSERT INTO check_hourly (hour, gate_id, decision, reason, enforced, checks)
      VALUES (date_trunc('hour', NEW.decided_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
              NEW.gate_id, NEW.decision, '', true, 1)
      ON CONFLICT (hour, gate_id, decision, reason, enforced)
      DO UPDATE SET checks = check_hourly.checks + 1;
      RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE OR REPLACE FUNCTION maskwatch_rollup_reason() RETURNS trigger AS $$
    BEGIN
      INSERT INTO check_hourly (hour, gate_id, decision, reason, enforced, checks)
      SELECT date_trunc('hour', c.decided_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
             c.gate_id, c.decision, NEW.reason, NEW.enforced, 1
      FROM checks c WHERE c.check_id = NEW.check_id
      ON CONFLICT (hour, gate_id, decision, reason, enforced)
      DO UPDATE SET checks = check_hourly.checks + 1;
      RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER checks_rollup AFTER INSERT ON checks
    FOR EACH ROW EXECUTE FUNCTION maskwatch_rollup_check()
    """,
    """
    CREATE TRIGGER check_reasons_rollup AFTER INSERT ON check_reasons
    FOR EACH ROW EXECUTE FUNCTION maskwatch_rollup_reason()
    """,
]

SQLITE_HOUR = "strftime('%Y-%m-%d %H:00:00.000000', {column})"
SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER checks_rollup AFTER INSERT ON checks BEGIN
      INSERT INTO check_hourly (hour, gate_id, decision, reason, enforced, checks)
      VALUES ({SQLITE_HOUR.format(column="NEW.decided_at")}, NEW.gate_id, NEW.decision, '', 1, 1)
      ON CONFLICT (hour, gate_id, decision, reason, enforced) DO UPDATE SET checks = checks + 1;
    END
    """,
    f"""
    CREATE TRIGGER check_reasons_rollup AFTER INSERT ON check_reasons BEGIN
      INSERT INTO check_hourly (hour, gate_id, decision, reason, enforced, checks)
      SELECT {SQLITE_HOUR.format(column="c.decided_at")}, c.gate_id, c.decision, NEW.reason,
             NEW.enforced, 1
      FROM checks c WHERE c.check_id = NEW.check_id AND true
      ON CONFLICT (hour, gate_id, decision, reason, enforced) DO UPDATE SET checks = checks + 1;
    END
    """,
]

BACKFILL_POSTGRES = """
INSERT INTO check_hourly (hour, gate_id, decision, reason, enforced, checks)
SELECT date_trunc('hour', decided_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', gate_id, decision, '', true,
       count(*)
FROM checks GROUP BY 1, 2, 3
UNION ALL
SELECT date_trunc('hour', c.decided_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', c.gate_id, c.decision,
       r.reason, r.enforced, count(*)
FROM check_reasons r JOIN checks c ON c.check_id = r.check_id GROUP BY 1, 2, 3, 4, 5
"""

BACKFILL_SQLITE = f"""
INSERT INTO check_hourly (hour, gate_id, decision, reason, enforced, checks)
SELECT {SQLITE_HOUR.format(column="decided_at")}, gate_id, decision, '', 1, count(*)
FROM checks GROUP BY 1, 2, 3
UNION ALL
SELECT {SQLITE_HOUR.format(column="c.decided_at")}, c.gate_id, c.decision, r.reason, r.enforced, count(*)
FROM check_reasons r JOIN checks c ON c.check_id = r.check_id GROUP BY 1, 2, 3, 4, 5
"""


def upgrade() -> None:
    now = datetime.now(UTC)
    sites = op.create_table(
        "sites",
        sa.Column("site_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.bulk_insert(
        sites, [{"site_id": "default", "name": "Default site", "time_zone": "UTC", "created_at": now}]
    )
    op.create_table(
        "gates",
        sa.Column("gate_id", sa.String(64), primary_key=True),
        sa.Column("site_id", sa.String(64), sa.ForeignKey("sites.site_id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_gates_site", "gates", ["site_id"])
    op.create_table(
        "users",
        sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("all_sites", sa.Boolean, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "user_sites",
        sa.Column(
            "user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "site_id", sa.String(64), sa.ForeignKey("sites.site_id", ondelete="CASCADE"), primary_key=True
        ),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_api_tokens_user", "api_tokens", ["user_id"])
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("site_id", sa.String(64), sa.ForeignKey("sites.site_id"), nullable=False),
        sa.Column("device_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "acknowledged_by",
            sa.Integer,
            sa.ForeignKey("users.user_id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("details", sa.JSON, nullable=False),
    )
    op.create_index("ix_alerts_site_opened", "alerts", ["site_id", "opened_at"])
    op.create_table(
        "audit_log",
        sa.Column("audit_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="SET NULL"), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("site_id", sa.String(64), nullable=True),
        sa.Column("details", sa.JSON, nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_table(
        "check_hourly",
        sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("gate_id", sa.String(64), primary_key=True),
        sa.Column("decision", sa.String(8), primary_key=True),
        sa.Column("reason", sa.String(32), primary_key=True),
        sa.Column("enforced", sa.Boolean, primary_key=True),
        sa.Column("checks", sa.Integer, nullable=False),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    op.execute(BACKFILL_POSTGRES if postgres else BACKFILL_SQLITE)
    for statement in POSTGRES_TRIGGERS if postgres else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS check_reasons_rollup ON check_reasons")
        op.execute("DROP TRIGGER IF EXISTS checks_rollup ON checks")
        op.execute("DROP FUNCTION IF EXISTS maskwatch_rollup_reason()")
        op.execute("DROP FUNCTION IF EXISTS maskwatch_rollup_check()")
    else:
        op.execute("DROP TRIGGER IF EXISTS check_reasons_rollup")
        op.execute("DROP TRIGGER IF EXISTS checks_rollup")
    for table in (
        "check_hourly",
        "audit_log",
        "alerts",
        "api_tokens",
        "user_sites",
        "users",
        "gates",
        "sites",
    ):
        op.drop_table(table)
