"""Grafana's SQL panels as Grafana would send them to PostgreSQL, for tests that cannot run Grafana.

Grafana rewrites a panel's SQL before the database sees it: its time macros
become the dashboard's time range and its template variables their values.
This module does the same for the macros of Grafana's PostgreSQL data source
(https://grafana.com/docs/grafana/latest/datasources/postgres/query-editor/),
and refuses SQL that still holds a `$` it does not know, so a panel using a
macro the tests cannot stand in for fails loudly instead of being skipped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_ARGS = r"\(\s*([^(),]+?)\s*(?:,\s*'?([^()',]+?)'?\s*)?(?:,\s*[^()]*?)?\)"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class SqlPanel:
    title: str
    sql: str
    format: str
    """`table` or `time_series`, as the panel asks Grafana to read the rows."""


def sql_panels(dashboard_path: Path) -> list[SqlPanel]:
    """Every SQL query of every panel (rows' panels included), in the dashboard's order."""
    dashboard = json.loads(dashboard_path.read_text())
    found: list[SqlPanel] = []

    def walk(panels: list[dict[str, Any]]) -> None:
        for panel in panels:
            walk(panel.get("panels", []))
            for target in panel.get("targets", []):
                if "rawSql" in target:
                    found.append(SqlPanel(panel["title"], target["rawSql"], target.get("format", "table")))

    walk(dashboard["panels"])
    return found


def variable_queries(dashboard_path: Path) -> dict[str, str]:
    """The SQL of each query variable (the site picker), by variable name."""
    dashboard = json.loads(dashboard_path.read_text())
    return {v["name"]: v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"}


def _instant(t: datetime) -> str:
    """Grafana's rendering of a range edge: UTC, RFC 3339, milliseconds kept."""
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _seconds(interval: str) -> int:
    match = re.fullmatch(r"(\d+)([smhd])", interval.strip())
    if match is None:
        raise ValueError(f"an interval Grafana's macros take, such as 1h: {interval!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def substitute(sql: str, start: datetime, end: datetime, variables: dict[str, str]) -> str:
    """`sql` with the time range [start, end] and the template variables filled in as Grafana does.

    Grafana's `to` is inclusive (its "today" ends at 23:59:59.999), so callers
    pass the last millisecond they mean, not the next midnight.
    """
    t0, t1 = _instant(start), _instant(end)

    def time_group(match: re.Match[str], alias: bool) -> str:
        column, interval = match.group(1), match.group(2) or "1h"
        n = _seconds(interval)
        group = f"floor(extract(epoch from {column})/{n})*{n}"
        return f'{group} AS "time"' if alias else group

    rules: list[tuple[str, Any]] = [
        (r"\$__timeFilter" + _ARGS, lambda m: f"{m.group(1)} BETWEEN '{t0}' AND '{t1}'"),
        (r"\$__timeFrom\(\)", f"'{t0}'"),
        (r"\$__timeTo\(\)", f"'{t1}'"),
        (r"\$__timeGroupAlias" + _ARGS, lambda m: time_group(m, alias=True)),
        (r"\$__timeGroup" + _ARGS, lambda m: time_group(m, alias=False)),
        (r"\$__unixEpochFrom\(\)", str(int(start.timestamp()))),
        (r"\$__unixEpochTo\(\)", str(int(end.timestamp()))),
    ]
    for name, value in variables.items():
        rules += [
            (r"\$\{" + name + r":sqlstring\}", _quote(value)),
            (r"\$\{" + name + r"\}", value),
            (r"\$" + name + r"\b", value),
        ]
    for pattern, replacement in rules:
        sql = re.sub(pattern, replacement if callable(replacement) else lambda _m, r=replacement: r, sql)
    left = re.search(r"\$\S+", sql)
    if left is not None:
        raise ValueError(f"a Grafana macro or variable the tests do not fill in: {left.group(0)}")
    return sql
