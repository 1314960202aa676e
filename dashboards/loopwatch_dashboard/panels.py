"""The dashboard's panels: what each one shows and what to do when it is red.

    >>> stalls_per_second().build().title
    'Stalls per second by view'

Each function returns one panel builder; ``dashboard.py`` lays them out and
numbers them. Thresholds are where a panel turns red; its description says
what that means and what to change in the code.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import heatmap, prometheus, table, timeseries
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import heatmap as heatmap_models
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    DataTransformerConfig,
    DynamicConfigValue,
    Threshold,
    ThresholdsMode,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from . import queries as q

# Every panel and every query goes through the dashboard's datasource variable,
# so the dashboard works against whichever Prometheus the user picks.
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")

# Grafana unit ids (packages/grafana-data/src/valueFormats/categories.ts).
PER_SECOND = "cps"
SECONDS = "s"
RATIO = "percentunit"
COUNT = "short"

# The site's base URL, picked by the user (a textbox variable): data links open its
# /loopwatch/ page. Exemplar points link to their own instance instead (see the data source's
# exemplarTraceIdDestinations in grafana/provisioning/datasources/loopwatch.yml).
SITE = "${site}"

HOW_TO_FIND_THE_LINE = (
    "Open /loopwatch/ on that instance (or /loopwatch/stalls.json): each stall names "
    "its view, its duration and the blocking line with its stack."
)


def _thresholds(orange: float, red: float) -> dashboard_builders.ThresholdsConfig:
    return (
        dashboard_builders.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps(
            [
                Threshold(value=None, color="green"),
                Threshold(value=orange, color="orange"),
                Threshold(value=red, color="red"),
            ]
        )
    )


def _query(expr: str, legend: str, ref_id: str = "A") -> prometheus.Dataquery:
    return (
        prometheus.Dataquery()
        .datasource(DATASOURCE)
        .expr(expr)
        .legend_format(legend)
        .range()
        .ref_id(ref_id)
    )


def _instant(expr: str, ref_id: str) -> prometheus.Dataquery:
    return (
        prometheus.Dataquery()
        .datasource(DATASOURCE)
        .expr(expr)
        .instant()
        .format(PromQueryFormat.TABLE)
        .ref_id(ref_id)
    )


def _timeseries(
    title: str, description: str, unit: str, *, orange: float, red: float
) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .min(0)
        .thresholds(_thresholds(orange, red))
        .thresholds_style(
            common_builders.GraphThresholdsStyleConfig().mode(
                common.GraphThresholdsStyleMode.DASHED_AND_AREA
            )
        )
        .fill_opacity(10)
        .show_points(common.VisibilityMode.NEVER)
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["mean", "max"])
            .sort_by("Max")
            .sort_desc(True)
        )
        .tooltip(
            common_builders.VizTooltipOptions()
            .mode(common.TooltipDisplayMode.MULTI)
            .sort(common.SortOrder.DESCENDING)
        )
        .height(8)
        .span(12)
    )


def stalls_per_second() -> timeseries.Panel:
    """Stalls per second, one line per view; a click opens the view's stalls on the site."""
    view_page = (
        dashboard_builders.DashboardLink("Stalls of ${__field.labels.view} on /loopwatch/")
        .url(f"{SITE}/loopwatch/?view=${{__field.labels.view:percentencode}}")
        .target_blank(True)
    )
    return (
        _timeseries(
            "Stalls per second by view",
            "How often each view held the event loop for at least the loopwatch THRESHOLD. "
            "While one view stalls, every other request on that worker waits. "
            "Red: the view stalls more than once every 10 s. " + HOW_TO_FIND_THE_LINE + " "
            "Typical fixes: the async ORM (aget, afirst, acount, async for) instead of the "
            "sync ORM; asyncio.sleep instead of time.sleep; httpx.AsyncClient instead of "
            "requests/urllib; sync_to_async (or a plain sync view) for file I/O and CPU work.",
            PER_SECOND,
            orange=0.01,
            red=0.1,
        )
        .with_target(_query(q.rate_by(q.STALLS, "view"), "{{view}}"))
        .data_links([view_page])
    )


def stall_durations() -> heatmap.Panel:
    """How long stalls last: a heatmap of the stall duration histogram."""
    return (
        heatmap.Panel()
        .title("Stall durations")
        .description(
            "How long each stall held the loop, all selected views together (darker cells: "
            "more stalls of that length). Stalls in the top rows are the ones users notice: "
            "every request on the worker waited that long. Red (many stalls above 100 ms): "
            "the worst views table names the views. " + HOW_TO_FIND_THE_LINE + " Each "
            "exemplar point is one recent stall: its stall_id link opens that stall on the "
            "instance's /loopwatch/ page (single-process servers only: prometheus_client "
            "keeps no exemplars in multiprocess mode; there, click a line in 'Stalls per "
            "second by view' for the view's stalls)."
        )
        .datasource(DATASOURCE)
        .unit(SECONDS)
        .calculate(False)
        .rows_frame(heatmap.RowsHeatmapOptions().layout(common.HeatmapCellLayout.LE))
        .y_axis(heatmap.YAxisConfig().unit(SECONDS).min(0))
        .color(
            heatmap.HeatmapColorOptions()
            .mode(heatmap_models.HeatmapColorMode.SCHEME)
            .scheme("Reds")
            .scale(heatmap_models.HeatmapColorScale.EXPONENTIAL)
            .exponent(0.5)
            .steps(64)
            .fill("dark-red")
        )
        .cell_values(heatmap.CellValues().unit(PER_SECOND))
        .show_legend()
        .mode(common.TooltipDisplayMode.SINGLE)
        .show_y_histogram()
        .with_target(
            _query(
                f"sum by (le) ({q.rate(q.STALL_DURATION + '_bucket')})",
                "{{le}}",
            )
            .format(PromQueryFormat.HEATMAP)
            # Each observation carries the stall's record id (label stall_id) as an exemplar.
            .exemplar(True)
        )
        .height(8)
        .span(12)
    )


def worst_views() -> table.Panel:
    """Views ranked by stalls over the whole time range, with p95 and max."""
    # Durations turn orange/red by the thresholds; view names and counts stay plain.
    seconds = [
        DynamicConfigValue(id_val="unit", value=SECONDS),
        DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-text"}),
    ]
    whole = q.WHOLE_RANGE
    return (
        table.Panel()
        .title("Worst views")
        .description(
            "Every view that stalled in the selected time range: how many stalls, their p95 "
            "duration, and the longest (the upper bound of the highest histogram bucket that "
            "saw a stall, so it reads like '<= 0.25 s'). Red durations are over 100 ms. "
            "Start at the top row. " + HOW_TO_FIND_THE_LINE
        )
        .datasource(DATASOURCE)
        .unit(COUNT)
        .thresholds(_thresholds(0.05, 0.1))
        # "> 0" keeps only views that stalled within the range (NaN quantiles drop out too).
        .with_target(_instant(f"sum by (view) ({q.increase(q.STALLS, window=whole)}) > 0", "A"))
        .with_target(
            _instant(f"{q.quantile(0.95, q.STALL_DURATION, 'view', window=whole)} > 0", "B")
        )
        .with_target(_instant(f"{q.quantile(1, q.STALL_DURATION, 'view', window=whole)} > 0", "C"))
        .with_transformation(DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": {"Time": True},
                    "indexByName": {"view": 0, "Value #A": 1, "Value #B": 2, "Value #C": 3},
                    "renameByName": {
                        "view": "View",
                        "Value #A": "Stalls",
                        "Value #B": "p95 duration",
                        "Value #C": "Max duration (bucket bound)",
                    },
                },
            )
        )
        .sort_by([common_builders.TableSortByFieldState().display_name("Stalls").desc(True)])
        .override_by_name("p95 duration", seconds)
        .override_by_name("Max duration (bucket bound)", seconds)
        .override_by_name(
            "Stalls",
            [
                DynamicConfigValue(id_val="unit", value=COUNT),
                DynamicConfigValue(id_val="decimals", value=0),
            ],
        )
        .height(8)
        .span(12)
    )


def loop_lag() -> timeseries.Panel:
    """Heartbeat lateness of the loop, p50 and p99 per instance."""
    return (
        _timeseries(
            "Event loop lag p50 / p99",
            "How late the event loop ran a scheduled heartbeat: the delay every request on "
            "that instance pays. It also catches blocking outside any view (garbage "
            "collection, protocol callbacks, start-up work). Red: p99 above 100 ms. If the "
            "stall panels show no view at the same time, look for stalls with view <none> in "
            "/loopwatch/; if they do, fix those views first.",
            SECONDS,
            orange=0.05,
            red=0.1,
        )
        .with_target(_query(q.quantile(0.5, q.LOOP_LAG, "job", "instance"), "p50 {{instance}}"))
        .with_target(
            _query(q.quantile(0.99, q.LOOP_LAG, "job", "instance"), "p99 {{instance}}", "B")
        )
    )


def loop_time_share() -> timeseries.Panel:
    """Each view's share of all the loop time spent serving requests."""
    share = (
        f"{q.rate_by(q.REQUEST_LOOP + '_sum', 'view')}"
        f" / scalar(sum({q.rate(q.REQUEST_LOOP + '_sum', all_views=True)}))"
    )
    return (
        _timeseries(
            "Share of loop time per view",
            "Of all the time the event loop spent running request code, the share each view "
            "took (lines stack to 100 % when every view is selected). A view with a large "
            "share and few requests is doing too much on the loop. Red: one view takes more "
            "than half. Move its CPU-heavy or blocking work off the loop (sync_to_async, a "
            "sync view, or a task queue) or make it cheaper.",
            RATIO,
            orange=0.3,
            red=0.5,
        )
        .max(1)
        .stacking(common_builders.StackingConfig().mode(common.StackingMode.NORMAL))
        .with_target(_query(share, "{{view}}"))
    )


def request_loop_time() -> timeseries.Panel:
    """Per-request loop time, p95 by view."""
    return _timeseries(
        "Request loop time p95 by view",
        "Per request, the total time its code held the event loop (not its latency: time "
        "spent awaiting is free). Red: p95 above 100 ms, so a typical slow request of this "
        "view blocks all others for that long, even if no single step reached the stall "
        "THRESHOLD. Break the work up, await the async ORM and HTTP calls, and move CPU "
        "work to sync_to_async.",
        SECONDS,
        orange=0.05,
        red=0.1,
    ).with_target(_query(q.quantile(0.95, q.REQUEST_LOOP, "view"), "{{view}}"))


def sync_orm_calls() -> timeseries.Panel:
    """ORM calls made on the event-loop thread, by view and outcome."""
    return _timeseries(
        "Sync ORM calls on the loop by view and outcome",
        "Django ORM calls made on the event-loop thread. outcome=raised: Django raised "
        "SynchronousOnlyOperation, so the user got an error page. outcome=allowed: "
        "DJANGO_ALLOW_ASYNC_UNSAFE let the query run and block the loop. Red: any call at "
        "all. /loopwatch/ lists each call with its SQL (no parameter values) and line; use "
        "the async ORM (aget, afirst, acount, async for, acreate) or wrap the code in "
        "sync_to_async.",
        PER_SECOND,
        orange=0.0001,
        red=0.001,
    ).with_target(_query(q.rate_by(q.SYNC_ORM_CALLS, "view", "outcome"), "{{view}} {{outcome}}"))


def stalls_by_cause() -> timeseries.Panel:
    """Stalls split by cause."""
    return (
        _timeseries(
            "Stalls by cause",
            "What the loop thread was doing during each stall. io: a blocking call (sync "
            "ORM, requests, file or socket I/O): switch to the async API. cpu: Python code "
            "computing: move it to sync_to_async or a worker. gil: another thread held the "
            "GIL (the stall record in /loopwatch/ names it): release it sooner or move that "
            "thread's work to a process. gc: garbage collection: reduce allocations or tune "
            "gc thresholds. unknown: see the stack in /loopwatch/. Red: more than one stall "
            "every 10 s.",
            PER_SECOND,
            orange=0.01,
            red=0.1,
        )
        .stacking(common_builders.StackingConfig().mode(common.StackingMode.NORMAL))
        .with_target(_query(q.rate_by(q.STALLS_BY_CAUSE, "cause"), "{{cause}}"))
    )


def delaying_views() -> timeseries.Panel:
    """Culprit side: how many other requests each view's stalls delayed."""
    return _timeseries(
        "Views that delay others most",
        "Per view, how many other in-flight requests per second had to wait because this "
        "view's code held the loop (top 10). A view can be fast for itself and still slow "
        "everybody else down. Red: more than one delayed request per second. Fix the top "
        "view first. " + HOW_TO_FIND_THE_LINE,
        PER_SECOND,
        orange=0.1,
        red=1,
    ).with_target(_query(f"topk(10, {q.rate_by(q.DELAYED_REQUESTS, 'view')})", "{{view}}"))


def victim_wait() -> timeseries.Panel:
    """Victim side: how long requests waited on other requests' stalls."""
    return _timeseries(
        "Victim wait p95 by view",
        "Per request of each view, the time it waited while other requests' code held the "
        "loop: latency this view's users pay for someone else's blocking. Red: p95 above "
        "100 ms. The cause is not in this view: look at 'Views that delay others most' and "
        "fix those.",
        SECONDS,
        orange=0.05,
        red=0.1,
    ).with_target(_query(q.quantile(0.95, q.REQUEST_WAIT, "view"), "{{view}}"))


def thread_hops() -> timeseries.Panel:
    """sync_to_async hops per request, by view."""
    hops_per_request = (
        f"{q.rate_by(q.THREAD_HOPS, 'view')} / {q.rate_by(q.REQUEST_LOOP + '_count', 'view')}"
    )
    return (
        _timeseries(
            "Thread hops per request by view",
            "sync_to_async hops (loop to thread and back) per request of each view. Each hop "
            "costs a context switch and queues behind other thread-sensitive work. Sync "
            "middleware (MiddlewareMixin) adds hops to every request. Red: more than 20 per "
            "request. Make middleware async-capable, batch ORM work into one sync_to_async "
            "call, or use the async ORM.",
            COUNT,
            orange=10,
            red=20,
        )
        .span(8)
        .with_target(_query(hops_per_request, "{{view}}"))
    )


def sync_to_async_wait() -> timeseries.Panel:
    """Queue wait before thread-sensitive sync functions start."""
    return (
        _timeseries(
            "sync_to_async queue wait p95 by view",
            "How long a thread-sensitive sync function (sync_to_async, sync middleware, the "
            "sync ORM behind the async one) waited before its thread was free. Django runs "
            "them all on one thread, one at a time, so a slow one queues all the others. "
            "Red: p95 above 50 ms. Find the slow sync work (it shows up in 'Request loop "
            "time' or in /loopwatch/), make it faster, or use thread_sensitive=False where it "
            "is safe.",
            SECONDS,
            orange=0.02,
            red=0.05,
        )
        .span(8)
        .with_target(_query(q.quantile(0.95, q.SYNC_TO_ASYNC_WAIT, "view"), "{{view}}"))
    )


def forgotten_awaits() -> timeseries.Panel:
    """Coroutines never awaited and task exceptions never retrieved, by view."""
    return (
        _timeseries(
            "Forgotten awaits and lost task exceptions by view",
            "Coroutines a view created and never awaited (a forgotten await: that work "
            "silently never ran) and exceptions of tasks nobody awaited (a fire-and-forget "
            "task failed and no one heard). Red: any at all. /loopwatch/ names the line that "
            "created each one: add the missing await, or keep a reference to the task and "
            "await it (or add a done callback that logs its exception).",
            PER_SECOND,
            orange=0.0001,
            red=0.001,
        )
        .span(8)
        .with_target(_query(q.rate_by(q.UNAWAITED, "view"), "{{view}} never awaited"))
        .with_target(_query(q.rate_by(q.LOST_EXCEPTIONS, "view"), "{{view}} lost exception", "B"))
    )
