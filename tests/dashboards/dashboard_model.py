"""Reading a Grafana dashboard's queries the way Grafana and its linter do.

    for panel, target in targets(dashboard):
        for node, parents in walk(parse(target["expr"])):
            ...

``substitute`` replaces template variables before parsing, as
dashboard-linter does: ``$__rate_interval`` and ``$__range`` become distinct
sentinel durations so a rule can tell which one a range selector used.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import promql_parser as pp

# The folder holding loopwatch.json, its generator and the Prometheus/Grafana files.
DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"

# Durations no one writes by hand (the linter uses the same trick).
RATE_INTERVAL = timedelta(seconds=7919)
WHOLE_RANGE = timedelta(seconds=6361)
RATE_INTERVAL_SENTINEL = f"{RATE_INTERVAL.seconds}s"
RANGE_SENTINEL = f"{WHOLE_RANGE.seconds}s"

_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel that shows data, including those inside (collapsed) rows."""
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def targets(dashboard: Mapping[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Every (panel, target) pair."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield panel, target


def substitute(expr: str, values: Mapping[str, str] | None = None) -> str:
    """``expr`` with every ``$var`` / ``${var}`` replaced.

    Interval variables get the sentinels above; others get ``values[name]``,
    or their own name (enough for parsing, as the linter does).
    """
    sentinels = {"__rate_interval": RATE_INTERVAL_SENTINEL, "__range": RANGE_SENTINEL}
    lookup = {**sentinels, **(values or {})}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return lookup.get(name, name)

    return _VARIABLE.sub(replace, expr)


def parse(expr: str, values: Mapping[str, str] | None = None) -> pp.Expr:
    """Parse a dashboard expression after substituting its variables."""
    return pp.parse(substitute(expr, values))


def children(node: pp.Expr) -> list[pp.Expr]:
    """The sub-expressions of ``node``."""
    if isinstance(node, pp.AggregateExpr):
        return [node.expr, *([node.param] if isinstance(node.param, pp.Expr) else [])]
    if isinstance(node, pp.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, pp.Call):
        return [arg for arg in node.args if isinstance(arg, pp.Expr)]
    if isinstance(node, pp.MatrixSelector):
        return [node.vector_selector]
    if isinstance(node, pp.ParenExpr | pp.UnaryExpr | pp.SubqueryExpr):
        return [node.expr]
    return []


def walk(
    node: pp.Expr, parents: tuple[pp.Expr, ...] = ()
) -> Iterator[tuple[pp.Expr, tuple[pp.Expr, ...]]]:
    """Depth-first (node, ancestors) pairs, nearest ancestor last."""
    yield node, parents
    for child in children(node):
        yield from walk(child, (*parents, node))


def selectors(node: pp.Expr) -> list[pp.VectorSelector]:
    """Every series selector in ``node``."""
    return [n for n, _ in walk(node) if isinstance(n, pp.VectorSelector)]


def matchers(selector: pp.VectorSelector) -> dict[str, tuple[pp.MatchOp, str]]:
    """Label name to (operator, value) for ``selector``."""
    return {m.name: (m.op, m.value) for m in selector.matchers.matchers}
