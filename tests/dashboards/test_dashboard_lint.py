"""Grafana dashboard-linter's rules, re-implemented as tests on loopwatch.json.

The linter (Go) cannot be installed here; its rules are small and are checked
below on a real PromQL parse of every query. Where the linter only warns, the
test is at least as strict. A failure names the panel and the query.
"""

from __future__ import annotations

import re
from typing import Any

import promql_parser as pp
import pytest
from dashboard_model import (
    RATE_INTERVAL,
    WHOLE_RANGE,
    matchers,
    panels,
    parse,
    selectors,
    targets,
    walk,
)

# DESIGN.md's contract: metric name -> (type, labels besides job/instance).
CONTRACT = {
    "loopwatch_stalls_total": ("counter", {"view"}),
    "loopwatch_stall_duration_seconds": ("histogram", {"view"}),
    "loopwatch_request_loop_seconds": ("histogram", {"view"}),
    "loopwatch_loop_lag_seconds": ("histogram", set()),
    "loopwatch_sync_orm_calls_total": ("counter", {"view", "outcome"}),
    "loopwatch_stalls_by_cause_total": ("counter", {"view", "cause"}),
    "loopwatch_delayed_requests_total": ("counter", {"view"}),
    "loopwatch_request_wait_seconds": ("histogram", {"view"}),
    "loopwatch_thread_hops_total": ("counter", {"view"}),
    "loopwatch_sync_to_async_wait_seconds": ("histogram", {"view"}),
}
# Exported by loopwatch.metrics beyond the contract ("more metrics are welcome").
EXTRA = {
    "loopwatch_unawaited_coroutines_total": ("counter", {"view"}),
    "loopwatch_lost_exceptions_total": ("counter", {"view"}),
}
METRICS = CONTRACT | EXTRA

# Series that only make sense as a rate or an increase.
MONOTONIC_SUFFIXES = ("_total", "_bucket", "_count", "_sum")

# Grafana unit ids (packages/grafana-data/src/valueFormats/categories.ts) that a
# dashboard about time and events can use; anything else is a typo or a guess.
GRAFANA_UNITS = {
    "none", "short", "percent", "percentunit", "locale", "sci",
    "ns", "µs", "ms", "s", "m", "h", "d", "dtdurationms", "dtdurations", "dthms", "dtdhms",
    "hertz", "cps", "ops", "reqps", "rps", "wps", "iops", "cpm", "opm", "rpm", "wpm",
    "bytes", "decbytes", "bool", "bool_yes_no", "bool_on_off",
}  # fmt: skip

TEMPLATED_DATASOURCES = {"$datasource", "${datasource}"}
FILTERS = ("job", "instance", "view")


def variable(dashboard: dict[str, Any], name: str) -> dict[str, Any]:
    found = [v for v in dashboard["templating"]["list"] if v["name"] == name]
    assert len(found) == 1, f"expected one variable named {name!r}, found {len(found)}"
    return found[0]


def metric_family(name: str) -> str:
    for suffix in ("_bucket", "_sum", "_count"):
        stem = name.removesuffix(suffix)
        if stem != name and METRICS.get(stem, ("", set()))[0] == "histogram":
            return stem
    return name


def all_queries(dashboard: dict[str, Any]) -> list[tuple[str, dict[str, Any], pp.Expr]]:
    return [(p["title"], t, parse(t["expr"])) for p, t in targets(dashboard)]


def test_dashboard_has_uid_title_and_current_schema(dashboard: dict[str, Any]) -> None:
    """The dashboard has a stable uid (links survive re-imports), a title and schema 41."""
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", dashboard.get("uid") or ""), dashboard.get("uid")
    assert dashboard.get("title")
    # Grafana 11.6's dashboard schema version; older numbers get migrated on load.
    assert dashboard["schemaVersion"] == 41


def test_datasource_variable(dashboard: dict[str, Any]) -> None:
    """There is exactly one datasource variable, named datasource, for Prometheus."""
    datasources = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
    assert len(datasources) == 1
    (ds,) = datasources
    assert ds["name"] == "datasource"
    assert ds["label"] == "Data Source"
    assert ds["query"] == "prometheus"


@pytest.mark.parametrize("name", FILTERS)
def test_filter_variables(dashboard: dict[str, Any], name: str) -> None:
    """job, instance and view are multi-select Prometheus label pickers with an All option."""
    var = variable(dashboard, name)
    assert var["type"] == "query"
    assert var["label"] == name.title()
    assert var["datasource"]["uid"] in TEMPLATED_DATASOURCES
    assert var["multi"] is True
    assert var["includeAll"] is True
    assert var["allValue"] == ".+"
    # Reload the values when the time range changes, or new views never appear.
    assert var["refresh"] == 2
    match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", var["query"])
    assert match, f"{name}: {var['query']!r} is not label_values(<selector>, <label>)"
    assert match.group(2) == name
    selector = parse(match.group(1))
    assert isinstance(selector, pp.VectorSelector)
    assert selector.name in {f"{m}_count" for m in METRICS} | set(METRICS)


def test_every_panel_has_title_description_and_targets(dashboard: dict[str, Any]) -> None:
    """Each panel says what it shows and what to do when it is red, and queries something."""
    for panel in panels(dashboard):
        assert panel.get("title"), panel
        description = panel.get("description", "")
        assert len(description) > 80, f"{panel['title']}: description too short to act on"
        assert "red" in description.lower(), f"{panel['title']}: does not say what red means"
        assert panel.get("targets"), f"{panel['title']}: no targets"


def test_every_panel_and_target_uses_the_datasource_variable(dashboard: dict[str, Any]) -> None:
    """Every panel and every query goes through $datasource, never a fixed data source."""
    for panel in panels(dashboard):
        assert panel["datasource"]["uid"] in TEMPLATED_DATASOURCES, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] in TEMPLATED_DATASOURCES, panel["title"]
    for name in FILTERS:
        assert variable(dashboard, name)["datasource"]["uid"] in TEMPLATED_DATASOURCES


def test_every_panel_has_a_valid_unit(dashboard: dict[str, Any]) -> None:
    """Every panel, and every override, uses a Grafana unit id; heatmaps label their y axis."""
    for panel in panels(dashboard):
        field_config = panel.get("fieldConfig", {})
        unit = field_config.get("defaults", {}).get("unit")
        assert unit in GRAFANA_UNITS, f"{panel['title']}: unit {unit!r}"
        for override in field_config.get("overrides", []):
            for prop in override["properties"]:
                if prop["id"] == "unit":
                    assert prop["value"] in GRAFANA_UNITS, f"{panel['title']}: {prop}"
        if panel["type"] == "heatmap":
            assert panel["options"]["yAxis"]["unit"] in GRAFANA_UNITS, panel["title"]


def test_panel_ids_and_ref_ids_are_unique(dashboard: dict[str, Any]) -> None:
    """Panel ids are unique across the dashboard and each query has its own refId."""
    ids = [p["id"] for p in dashboard["panels"]] + [
        p["id"] for row in dashboard["panels"] for p in row.get("panels", [])
    ]
    assert len(ids) == len(set(ids))
    for panel in panels(dashboard):
        ref_ids = [t.get("refId") for t in panel["targets"]]
        assert all(ref_ids), panel["title"]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]


def test_panels_do_not_overlap(dashboard: dict[str, Any]) -> None:
    """Panels fit the 24-column grid and no two cover the same cell."""
    taken: dict[tuple[int, int], str] = {}
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in taken, f"{panel['title']} overlaps {taken[(x, y)]}"
                taken[(x, y)] = panel["title"]


def test_every_query_is_valid_promql(dashboard: dict[str, Any]) -> None:
    """Every query parses as PromQL once the dashboard variables are substituted."""
    errors = []
    for panel, target in targets(dashboard):
        try:
            parse(target["expr"])
        except ValueError as exc:
            errors.append(f"{panel['title']} ({target['refId']}): {exc}")
    assert not errors, "\n".join(errors)


def test_rate_and_increase_use_rate_interval(dashboard: dict[str, Any]) -> None:
    """rate/irate/increase use $__rate_interval; only instant (table) queries use $__range."""
    for title, target, expr in all_queries(dashboard):
        for node, parents in walk(expr):
            if not isinstance(node, pp.MatrixSelector):
                continue
            call = parents[-1] if parents else None
            assert isinstance(call, pp.Call), f"{title}: bare range selector {node}"
            allowed = {RATE_INTERVAL}
            if call.func.name == "increase" and target.get("instant"):
                allowed.add(WHOLE_RANGE)  # "over the whole time range" table columns
            assert node.range in allowed, f"{title}: {call.func.name}() over {node.range}"


def test_counters_only_inside_rate_or_increase(dashboard: dict[str, Any]) -> None:
    """Counters and histogram series appear only as rate(x[...]), irate or increase."""
    for title, _target, expr in all_queries(dashboard):
        for node, parents in walk(expr):
            if not isinstance(node, pp.VectorSelector) or not node.name:
                continue
            if not node.name.endswith(MONOTONIC_SUFFIXES):
                continue
            where = f"{title}: {node.name}"
            assert len(parents) >= 2, f"{where} is not aggregated with rate/increase"
            assert isinstance(parents[-1], pp.MatrixSelector), f"{where} is not a range"
            call = parents[-2]
            assert isinstance(call, pp.Call), f"{where} is not inside a function"
            assert call.func.name in {"rate", "irate", "increase"}, f"{where} in {call.func.name}"


def test_every_selector_filters_by_job_and_instance(dashboard: dict[str, Any]) -> None:
    """Every series selector honours the job and instance pickers."""
    for title, _target, expr in all_queries(dashboard):
        for selector in selectors(expr):
            labels = matchers(selector)
            for name in ("job", "instance"):
                assert labels.get(name) == (pp.MatchOp.Re, name), f"{title}: {selector}"


def test_per_view_queries_honour_the_view_picker(dashboard: dict[str, Any]) -> None:
    """A query over per-view metrics filters at least one selector by view=~"$view"."""
    for title, _target, expr in all_queries(dashboard):
        per_view = [s for s in selectors(expr) if "view" in METRICS[metric_family(s.name)][1]]
        if per_view:
            assert any(matchers(s).get("view") == (pp.MatchOp.Re, "view") for s in per_view), title


def test_queries_use_only_contract_metrics_and_labels(dashboard: dict[str, Any]) -> None:
    """Queries name only loopwatch's metrics, with the labels DESIGN.md gives them."""
    for title, _target, expr in all_queries(dashboard):
        for selector in selectors(expr):
            family = metric_family(selector.name)
            assert family in METRICS, f"{title}: {selector.name} is not a loopwatch metric"
            kind, labels = METRICS[family]
            allowed = {"job", "instance", *labels} | ({"le"} if kind == "histogram" else set())
            assert set(matchers(selector)) <= allowed, f"{title}: {selector}"
            if kind == "histogram":
                assert selector.name != family, f"{title}: use {family}_bucket/_sum/_count"


def test_every_metric_has_a_panel(dashboard: dict[str, Any]) -> None:
    """Every metric in the contract, and every extra one loopwatch exports, has a panel."""
    used = {
        metric_family(s.name)
        for _title, _t, expr in all_queries(dashboard)
        for s in selectors(expr)
    }
    assert set(METRICS) - used == set()


@pytest.mark.parametrize(
    "title",
    [
        "Stalls per second by view",
        "Stall durations",
        "Worst views",
        "Event loop lag p50 / p99",
        "Share of loop time per view",
        "Sync ORM calls on the loop by view and outcome",
        "Request loop time p95 by view",
        "Stalls by cause",
        "Views that delay others most",
        "Victim wait p95 by view",
        "Thread hops per request by view",
        "sync_to_async queue wait p95 by view",
        "Forgotten awaits and lost task exceptions by view",
    ],
)
def test_promised_panel_exists(dashboard: dict[str, Any], title: str) -> None:
    """Each panel the README promises is on the dashboard."""
    assert title in {p["title"] for p in panels(dashboard)}


def test_stall_durations_is_a_heatmap_of_buckets(dashboard: dict[str, Any]) -> None:
    """The stall duration panel is a heatmap fed with histogram buckets by le."""
    (panel,) = [p for p in panels(dashboard) if p["title"] == "Stall durations"]
    assert panel["type"] == "heatmap"
    assert panel["options"]["calculate"] is False
    (target,) = panel["targets"]
    assert target["format"] == "heatmap"
    expr = parse(target["expr"])
    assert isinstance(expr, pp.AggregateExpr)
    assert expr.modifier is not None
    assert expr.modifier.labels == ["le"]


def test_worst_views_table_covers_the_whole_range(dashboard: dict[str, Any]) -> None:
    """The worst views table shows count, p95 and max per view over the picked time range."""
    (panel,) = [p for p in panels(dashboard) if p["title"] == "Worst views"]
    assert panel["type"] == "table"
    quantiles = []
    for target in panel["targets"]:
        assert target["instant"] is True
        assert target["format"] == "table"
        assert "[$__range]" in target["expr"]
        for node, _parents in walk(parse(target["expr"])):
            if isinstance(node, pp.Call) and node.func.name == "histogram_quantile":
                quantiles.append(node.args[0].val)
    assert sorted(quantiles) == [0.95, 1.0]
    renamed = next(t for t in panel["transformations"] if t["id"] == "organize")
    assert set(renamed["options"]["renameByName"].values()) >= {"View", "Stalls"}


def test_metrics_are_exactly_those_loopwatch_exports() -> None:
    """The metric names and types the dashboard expects are the ones loopwatch.metrics defines."""
    from prometheus_client import CollectorRegistry

    from loopwatch.metrics import PrometheusExporter

    registry = CollectorRegistry()
    PrometheusExporter(registry=registry)
    exported = {
        family.name + ("_total" if family.type == "counter" else ""): family.type
        for family in registry.collect()
    }
    assert exported == {name: kind for name, (kind, _labels) in METRICS.items()}
