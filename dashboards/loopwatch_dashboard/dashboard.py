"""The loopwatch Grafana dashboard: variables, rows and layout.

    >>> render()[:1]
    '{'

``render()`` is the exact text of ``dashboards/loopwatch.json``; the test
suite regenerates it and fails when the committed file differs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import heatmap, table, timeseries
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    VariableModel,
    VariableRefresh,
    VariableSort,
)

from . import panels
from . import queries as q

UID = "loopwatch"
TITLE = "loopwatch: event loop stalls"

# label_values() over a series every instrumented process exports from start-up
# (the lag probe runs even before the first request), so the pickers are never
# empty on a healthy site.
_ALWAYS_PRESENT = q.LOOP_LAG + "_count"

PanelFactory = Callable[[], timeseries.Panel | heatmap.Panel | table.Panel]

# (row title, panels) in the order a user reads them: is the loop blocked,
# by which view, why, who suffers, then the thread pool and tasks behind it.
ROWS: Sequence[tuple[str, Sequence[PanelFactory]]] = (
    (
        "Stalls: which views block the event loop",
        (panels.stalls_per_second, panels.stall_durations, panels.worst_views, panels.loop_lag),
    ),
    (
        "Loop time",
        (panels.loop_time_share, panels.request_loop_time),
    ),
    (
        "Causes, culprits and victims",
        (panels.sync_orm_calls, panels.stalls_by_cause, panels.delaying_views, panels.victim_wait),
    ),
    (
        "Threads and tasks",
        (panels.thread_hops, panels.sync_to_async_wait, panels.forgotten_awaits),
    ),
)


def _label_variable(name: str, label: str, query: str) -> dashboard_builders.QueryVariable:
    return (
        dashboard_builders.QueryVariable(name)
        .label(label)
        .datasource(panels.DATASOURCE)
        .query(query)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        # Every loopwatch series carries these labels with a non-empty value.
        .all_value(".+")
    )


# Where data links send the browser; the demo site's address until the user types theirs.
DEFAULT_SITE = "http://127.0.0.1:8000"


def variables() -> list[Builder[VariableModel]]:
    """Data source, then job, instance and view, each narrowed by the one before; the site."""
    datasource = (
        dashboard_builders.DatasourceVariable("datasource").label("Data Source").type("prometheus")
    )
    job = _label_variable("job", "Job", f"label_values({_ALWAYS_PRESENT}, job)")
    instance = _label_variable(
        "instance", "Instance", f'label_values({_ALWAYS_PRESENT}{{job=~"$job"}}, instance)'
    )
    # Every view that served a request has a request loop time series.
    view = _label_variable(
        "view",
        "View",
        f'label_values({q.REQUEST_LOOP}_count{{job=~"$job", instance=~"$instance"}}, view)',
    )
    site = (
        dashboard_builders.TextBoxVariable("site")
        .label("Site URL")
        .description("Base URL of the Django site: links open its /loopwatch/ page.")
        .default_value(DEFAULT_SITE)
    )
    return [datasource, job, instance, view, site]


def build() -> dashboard_builders.Dashboard:
    """The dashboard builder, panels numbered in reading order."""
    board = (
        dashboard_builders.Dashboard(TITLE)
        .uid(UID)
        .description(
            "Where the asyncio event loop of a Django ASGI site is blocked: by which view, "
            "how long, why, and who waited. Metrics from loopwatch (/loopwatch/metrics)."
        )
        .tags(["loopwatch", "django", "asyncio"])
        .time("now-30m", "now")
        .refresh("30s")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .timezone("browser")
        .annotation(
            # Grafana's own annotations and alerts, as in every dashboard Grafana creates.
            dashboard_builders.AnnotationQuery()
            .name("Annotations & Alerts")
            .datasource(DataSourceRef(type_val="grafana", uid="-- Grafana --"))
            .built_in(1)
            .enable(True)
            .hide(True)
            .icon_color("rgba(0, 211, 255, 1)")
            .type("dashboard")
        )
    )
    board.variables(variables())
    panel_id = 0
    for title, factories in ROWS:
        panel_id += 1
        board.with_row(dashboard_builders.Row(title).id(panel_id))
        for factory in factories:
            panel_id += 1
            board.with_panel(factory().id(panel_id))
    return board


def render() -> str:
    """The dashboard as the JSON text committed in ``dashboards/loopwatch.json``."""
    model = build().build()
    return json.dumps(model, cls=JSONEncoder, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
