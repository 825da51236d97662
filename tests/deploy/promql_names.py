"""The metric names a Grafana dashboard's PromQL reads, and the names a service's /metrics exports.

A panel whose expression names a metric nobody exports shows "No data"
forever and nothing fails; comparing these two sets catches a renamed metric,
a typo or a `job` that never exports it. Expressions are parsed with
promql-parser (the grammar Prometheus uses), not searched with patterns, so a
label value or a function name is never taken for a metric.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser
from prometheus_client.parser import text_string_to_metric_families

GRAFANA_INTERVALS = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "6h"}
"""Grafana's range variables, as it would fill them in before Prometheus sees the expression."""

SERIES_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "gauge": ("",),
    "info": ("_info",),
}


@dataclass(frozen=True)
class Selector:
    """One metric an expression reads, and the scrape job it asks for (None: any job)."""

    metric: str
    job: str | None


def dashboard_expressions(path: Path) -> list[tuple[str, str]]:
    """(panel title, PromQL) for every query of every panel."""
    dashboard = json.loads(path.read_text())
    return [(p["title"], t["expr"]) for p in dashboard["panels"] for t in p.get("targets", []) if "expr" in t]


def selectors(expression: str) -> list[Selector]:
    """Every metric the expression selects, with its `job="..."` matcher when it has one."""
    for variable, value in GRAFANA_INTERVALS.items():
        expression = expression.replace(variable, value)
    found: list[Selector] = []
    _walk(promql_parser.parse(expression), found)
    return found


def _walk(node: Any, found: list[Selector]) -> None:
    if isinstance(node, promql_parser.VectorSelector):
        matchers = {m.name: m for m in node.matchers.matchers}
        name = node.name or matchers["__name__"].value
        job = matchers.get("job")
        exact = job is not None and job.op == promql_parser.MatchOp.Equal
        found.append(Selector(name, job.value if exact else None))
    elif isinstance(node, promql_parser.MatrixSelector):
        _walk(node.vector_selector, found)
    elif isinstance(node, promql_parser.Call):
        for arg in node.args:
            _walk(arg, found)
    elif isinstance(node, promql_parser.BinaryExpr):
        _walk(node.lhs, found)
        _walk(node.rhs, found)
    elif isinstance(node, promql_parser.AggregateExpr):
        _walk(node.expr, found)
        if node.param is not None:
            _walk(node.param, found)
    elif isinstance(node, promql_parser.ParenExpr | promql_parser.UnaryExpr | promql_parser.SubqueryExpr):
        _walk(node.expr, found)


@dataclass(frozen=True)
class Exposition:
    declared: frozenset[str]
    """Every series name the process would export: a labelled metric nothing has touched yet has its
    HELP and TYPE lines and no samples, and still counts."""
    sampled: frozenset[str]
    """Series names with at least one sample now."""


def read_exposition(text: str) -> Exposition:
    declared: set[str] = set()
    sampled: set[str] = set()
    for family in text_string_to_metric_families(text):
        declared |= {family.name + suffix for suffix in SERIES_SUFFIXES.get(family.type, ("",))}
        sampled |= {s.name for s in family.samples}
    return Exposition(frozenset(declared | sampled), frozenset(sampled))
