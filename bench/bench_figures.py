"""How fast the figures answer over a year of checks from 100 gates (numbers, never assertions).

Creates a scratch PostgreSQL database, loads a year of generated checks with
generate_series (the roll-up triggers are disabled during the bulk load and the
hourly and daily roll-ups are rebuilt afterwards, as an operator would after an
import), then times each figure. `MASKWATCH_BENCH_CHECKS` sets the volume (default 3,000,000,
about 80 checks per gate per day); `MASKWATCH_BENCH_POSTGRES_URL` the server.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from maskwatch.database import figures
from maskwatch.database.engine import create_engine, migrate

ADMIN_URL = os.environ.get("MASKWATCH_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CHECKS = int(os.environ.get("MASKWATCH_BENCH_CHECKS", "3000000"))
GATES = 100
SITES = 4
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)

TRIGGERS = [
    ("checks", "checks_rollup"),
    ("check_reasons", "check_reasons_rollup"),
    ("checks", "checks_rollup_daily"),
    ("check_reasons", "check_reasons_rollup_daily"),
]

LOAD = [
    *[f"ALTER TABLE {table} DISABLE TRIGGER {trigger}" for table, trigger in TRIGGERS],
    "INSERT INTO sites (site_id, name, time_zone, created_at) "
    "SELECT 'site-' || s, 'Site ' || s, "
    "(ARRAY['Europe/Berlin','America/New_York','Asia/Kolkata','UTC'])[s + 1], now() "
    f"FROM generate_series(0, {SITES - 1}) s",
    "INSERT INTO gates (gate_id, site_id, name, created_at) "
    f"SELECT 'gate-' || g, 'site-' || (g % {SITES}), 'Gate ' || g, now() "
    f"FROM generate_series(0, {GATES - 1}) g",
    # Checks spread evenly over the year, 12% denied.
    "INSERT INTO checks (check_id, gate_id, captured_at, decided_at, decision, message, temperature_c, "
    "face_count, mask_label, total_ms, model_ms) "
    f"SELECT gen_random_uuid(), 'gate-' || (i % {GATES}), ts, ts, "
    "CASE WHEN random() < 0.12 THEN 'deny' ELSE 'open' END, 'ok', 36.4 + random(), 1, 'mask', 80, 30 "
    f"FROM (SELECT i, timestamptz '{YEAR_START.isoformat()}' + "
    f"(i::float8 / {CHECKS}) * interval '365 days' + (random() * interval '6 hours') AS ts "
    f"FROM generate_series(1, {CHECKS}) i) s",
    "INSERT INTO check_reasons (check_id, reason, enforced) SELECT check_id, "
    "(ARRAY['no_mask','incorrect_mask','fever','no_face'])[1 + (abs(hashtext(check_id::text)) % 4)], true "
    "FROM checks WHERE decision = 'deny'",
    *[f"ALTER TABLE {table} ENABLE TRIGGER {trigger}" for table, trigger in TRIGGERS],
    "ANALYZE",
]


def timed(label: str, run: Callable[[], object], repeat: int = 5) -> None:
    run()  # warm the cache, as a dashboard refreshing every few seconds does
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    print(f"  {label:<58} median {statistics.median(samples):8.1f} ms   max {max(samples):8.1f} ms")


def main() -> None:
    name = f"maskwatch_bench_{uuid.uuid4().hex[:8]}"
    base = ADMIN_URL.rsplit("/", 1)[0]
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{base}/{name}"
    try:
        migrate(url)
        engine = create_engine(url)
        print(f"loading {CHECKS:,} checks from {GATES} gates over 365 days ...")
        started = time.perf_counter()
        with engine.begin() as conn:
            for statement in LOAD[:-1]:
                conn.execute(sa.text(statement))
            figures.rebuild_hourly(conn, YEAR_START, YEAR_START + timedelta(days=366))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(LOAD[-1]))
        print(f"loaded in {time.perf_counter() - started:.1f} s")
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT count(*) FROM check_hourly")).scalar_one()
            days = conn.execute(sa.text("SELECT count(*) FROM check_daily")).scalar_one()
            size = conn.execute(
                sa.text("SELECT pg_size_pretty(pg_database_size(current_database()))")
            ).scalar()
            print(f"check_hourly rows: {rows:,}; check_daily rows: {days:,}; database size {size}")
            run_figures(conn)
        engine.dispose()
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_figures(conn: sa.Connection) -> None:
    berlin, kolkata = ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Kolkata")
    day = date(2025, 10, 15)
    d0, d1 = figures.day_range(day, berlin)
    m0, m1 = figures.day_range(date(2025, 10, 1), berlin)[0], figures.day_range(date(2025, 10, 31), berlin)[1]
    y0, y1 = figures.day_range(date(2025, 1, 1), berlin)[0], figures.day_range(date(2025, 12, 31), berlin)[1]
    k0, k1 = figures.day_range(day, kolkata)
    km0, km1 = (
        figures.day_range(date(2025, 10, 1), kolkata)[0],
        figures.day_range(date(2025, 10, 31), kolkata)[1],
    )
    ky0, ky1 = (
        figures.day_range(date(2025, 1, 1), kolkata)[0],
        figures.day_range(date(2025, 12, 31), kolkata)[1],
    )
    print("roll-ups (Europe/Berlin):")
    timed("summary, one site, one day", lambda: figures.summary(conn, d0, d1, site="site-0"))
    timed("summary, one site, one month", lambda: figures.summary(conn, m0, m1, site="site-0"))
    timed("summary, one site, the whole year", lambda: figures.summary(conn, y0, y1, site="site-0"))
    timed("summary, every site, the whole year", lambda: figures.summary(conn, y0, y1))
    timed("per hour, one site, one day", lambda: figures.per_hour(conn, d0, d1, berlin, site="site-0"))
    timed("per hour, one site, one month", lambda: figures.per_hour(conn, m0, m1, berlin, site="site-0"))
    timed("per gate, one site, the whole year", lambda: figures.per_gate(conn, y0, y1, site="site-0"))
    timed("per site, the whole year", lambda: figures.per_site(conn, y0, y1))
    print("half-hour zone (Asia/Kolkata; the parts of an hour at either end from the raw rows):")
    timed("summary, one site, one day", lambda: figures.summary(conn, k0, k1, site="site-2"))
    timed("per hour, one site, one day", lambda: figures.per_hour(conn, k0, k1, kolkata, site="site-2"))
    timed("summary, one site, one month", lambda: figures.summary(conn, km0, km1, site="site-2"))
    timed("summary, one site, the whole year", lambda: figures.summary(conn, ky0, ky1, site="site-2"))
    timed("per gate, one site, the whole year", lambda: figures.per_gate(conn, ky0, ky1, site="site-2"))
    timed(
        "summary, every site, the whole year, raw rows only (comparison)",
        lambda: figures._raw_counts(conn, y0, y1, site=None, gate=None, site_ids=None, group=None),
        3,
    )


if __name__ == "__main__":
    main()
