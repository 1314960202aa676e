"""The dashboard shows exemplars on the stall-duration panel and links them to the stall."""

from __future__ import annotations

import json
from typing import Any

import yaml

from tests.dashboards.dashboard_model import DASHBOARDS, panels


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DASHBOARDS / "loopwatch.json").read_text("utf-8"))
    return loaded


def panel(title: str) -> dict[str, Any]:
    (found,) = [p for p in panels(dashboard()) if p["title"] == title]
    return found


def test_stall_duration_panel_asks_for_exemplars() -> None:
    """The stall-duration heatmap's query has the exemplar toggle on."""
    (target,) = panel("Stall durations")["targets"]
    assert "loopwatch_stall_duration_seconds_bucket" in target["expr"]
    assert target["exemplar"] is True


def test_exemplar_stall_id_links_to_the_record_anchor() -> None:
    """The data source turns an exemplar's stall_id into a link to #stall-<id> on its instance."""
    provisioning = DASHBOARDS / "grafana" / "provisioning" / "datasources" / "loopwatch.yml"
    (source,) = yaml.safe_load(provisioning.read_text("utf-8"))["datasources"]
    (destination,) = source["jsonData"]["exemplarTraceIdDestinations"]
    assert destination["name"] == "stall_id"
    # `$$` is Grafana's escape for a literal `$` in provisioning files.
    assert destination["url"] == (
        "http://$${__data.fields.instance}/loopwatch/#stall-$${__value.raw}"
    )


def test_per_view_link_is_the_fallback_without_exemplars() -> None:
    """Each view's line links to the page filtered by that view (multiprocess has no exemplars)."""
    (link,) = panel("Stalls per second by view")["fieldConfig"]["defaults"]["links"]
    assert link["url"] == "${site}/loopwatch/?view=${__field.labels.view:percentencode}"
    (site,) = [v for v in dashboard()["templating"]["list"] if v["name"] == "site"]
    assert site["type"] == "textbox"


def test_compose_prometheus_keeps_exemplars() -> None:
    """The shipped Prometheus runs with exemplar storage, or Grafana would have none to show."""
    compose = yaml.safe_load((DASHBOARDS / "compose.yaml").read_text("utf-8"))
    assert "--enable-feature=exemplar-storage" in compose["services"]["prometheus"]["command"]
