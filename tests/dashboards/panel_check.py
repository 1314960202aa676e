"""Run every dashboard query against a real Prometheus, the way Grafana would.

    problems = check_panel(panel, server, start, end, scrape_interval=1)
    assert not problems, "\\n".join(problems)

Variables are substituted as Grafana does with every picker on "All"
(``.+``); ``$__rate_interval`` becomes four scrape intervals (Grafana's
minimum) and ``$__range`` the time since ``start``. Range panels are queried
over [start, end]; instant (table) panels at ``end``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from dashboard_model import substitute
from promserver import PrometheusError, PrometheusServer

ALL = ".+"
_LABEL_VALUES = re.compile(r"label_values\((.+),\s*(\w+)\)")


def grafana_values(start: float, end: float, scrape_interval: float) -> dict[str, str]:
    """What Grafana puts in for the dashboard's variables with every picker on All."""
    return {
        "job": ALL,
        "instance": ALL,
        "view": ALL,
        "__rate_interval": f"{math.ceil(4 * scrape_interval)}s",
        "__range": f"{math.ceil(end - start)}s",
    }


def has_data(result: Mapping[str, Any]) -> bool:
    """True when at least one series has one value a panel can draw (not NaN)."""
    for series in result.get("result", []):
        samples = series.get("values") or [series.get("value")]
        if any(sample and sample[1] != "NaN" for sample in samples):
            return True
    return False


def check_panel(
    panel: Mapping[str, Any],
    server: PrometheusServer,
    start: float,
    end: float,
    scrape_interval: float,
) -> list[str]:
    """One line per query of ``panel`` that is invalid or returns nothing, naming the panel."""
    values = grafana_values(start, end, scrape_interval)
    problems = []
    for target in panel["targets"]:
        expr = substitute(target["expr"], values)
        where = f"panel {panel['title']!r} query {target['refId']}"
        try:
            if target.get("instant"):
                result = server.query(expr, at=end)
            else:
                result = server.query_range(expr, start, end, step=scrape_interval)
        except PrometheusError as exc:
            problems.append(f"{where} is invalid ({exc}): {expr}")
            continue
        if not has_data(result):
            problems.append(f"{where} returned no data: {expr}")
    return problems


def check_variables(dashboard: Mapping[str, Any], server: PrometheusServer) -> dict[str, list[str]]:
    """The values each label_values() picker offers (an empty list is a broken picker)."""
    values = {"job": ALL, "instance": ALL, "view": ALL}
    offered = {}
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        match = _LABEL_VALUES.fullmatch(variable["query"])
        if match is None:
            offered[variable["name"]] = []
            continue
        selector, label = substitute(match.group(1), values), match.group(2)
        found: list[str] = server.api(f"label/{label}/values", **{"match[]": selector})
        offered[variable["name"]] = found
    return offered
