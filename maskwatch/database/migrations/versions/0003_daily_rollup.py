"""The daily roll-up of checks: per UTC day, gate, decision and reason.

Kept by triggers on `checks` and `check_reasons` beside the hourly ones, so it
stays current whichever process writes the checks; existing checks are rolled
up here from the raw rows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

POSTGRES_DAY = "date_trunc('day', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
POSTGRES_TRIGGERS = [
    f"""
    CREATE OR REPLACE FUNCTION maskwatch_rollup_check_daily() RETURNS trigger AS $$
    BEGIN
      INSERT INTO check_daily (day, gate_id, decision, reason, enforced, checks)
      VALUES ({POSTGRES_DAY.format(column="NEW.decided_at")}, NEW.gate_id, NEW.decision, '', true, 1)
      ON CONFLICT (day, gate_id, decision, reason, enforced)
      DO UPDATE SET checks = check_daily.checks + 1;
      RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    f"""
    CREATE OR REPLACE FUNCTION maskwatch_rollup_reason_daily() RETURNS trigger AS $$
    BEGIN
      INSERT INTO check_daily (day, gate_id, decision, reason, enforced, checks)
      SELECT {POSTGRES_DAY.format(column="c.decided_at")}, c.gate_id, c.decision, NEW.reason,
             NEW.enforced, 1
      FROM checks c WHERE c.check_id = NEW.check_id
      ON CONFLICT (day, gate_id, decision, reason, enforced)
      DO UPDATE SET checks = check_daily.checks + 1;
      RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER checks_rollup_daily AFTER INSERT ON checks
    FOR EACH ROW EXECUTE FUNCTION maskwatch_rollup_check_daily()
    """,
    """
    CREATE TRIGGER check_reasons_rollup_daily AFTER INSERT ON check_reasons
    FOR EACH ROW EXECUTE FUNCTION maskwatch_rollup_reason_daily()
    """,
]

SQLITE_DAY = "strftime('%Y-%m-%d 00:00:00.000000', {column})"
SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER checks_rollup_daily AFTER INSERT ON checks BEGIN
      INSERT INTO check_daily (day, gate_id, decision, reason, enforced, checks)
      VALUES ({SQLITE_DAY.format(column="NEW.decided_at")}, NEW.gate_id, NEW.decision, '', 1, 1)
      ON CONFLICT (day, gate_id, decision, reason, enforced) DO UPDATE SET checks = checks + 1;
    END
    """,
    f"""
    CREATE TRIGGER check_reasons_rollup_daily AFTER INSERT ON check_reasons BEGIN
      INSERT INTO check_daily (day, gate_id, decision, reason, enforced, checks)
      SELECT {SQLITE_DAY.format(column="c.decided_at")}, c.gate_id, c.decision, NEW.reason,
             NEW.enforced, 1
      FROM checks c WHERE c.check_id = NEW.check_id AND true
      ON CONFLICT (day, gate_id, decision, reason, enforced) DO UPDATE SET checks = checks + 1;
    END
    """,
]

BACKFILL = """
INSERT INTO check_daily (day, gate_id, decision, reason, enforced, checks)
SELECT {day}, gate_id, decision, '', {yes}, count(*)
FROM checks GROUP BY 1, 2, 3
UNION ALL
SELECT {day_c}, c.gate_id, c.decision, r.reason, r.enforced, count(*)
FROM check_reasons r JOIN checks c ON c.check_id = r.check_id GROUP BY 1, 2, 3, 4, 5
"""


def upgrade() -> None:
    op.create_table(
        "check_daily",
        sa.Column("day", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("gate_id", sa.String(64), primary_key=True),
        sa.Column("decision", sa.String(8), primary_key=True),
        sa.Column("reason", sa.String(32), primary_key=True),
        sa.Column("enforced", sa.Boolean, primary_key=True),
        sa.Column("checks", sa.Integer, nullable=False),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    day = POSTGRES_DAY if postgres else SQLITE_DAY
    op.execute(
        BACKFILL.format(
            day=day.format(column="decided_at"),
            day_c=day.format(column="c.decided_at"),
            yes="true" if postgres else "1",
        )
    )
    for statement in POSTGRES_TRIGGERS if postgres else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS check_reasons_rollup_daily ON check_reasons")
        op.execute("DROP TRIGGER IF EXISTS checks_rollup_daily ON checks")
        op.execute("DROP FUNCTION IF EXISTS maskwatch_rollup_reason_daily()")
        op.execute("DROP FUNCTION IF EXISTS maskwatch_rollup_check_daily()")
    else:
        op.execute("DROP TRIGGER IF EXISTS check_reasons_rollup_daily")
        op.execute("DROP TRIGGER IF EXISTS checks_rollup_daily")
    op.drop_table("check_daily")
