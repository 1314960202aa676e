"""PromQL for the loopwatch dashboard, built from one place.

    >>> selector("loopwatch_stalls_total")
    'loopwatch_stalls_total{job=~"$job", instance=~"$instance", view=~"$view"}'
    >>> rate_by("loopwatch_stalls_total", "view")  # doctest: +ELLIPSIS
    'sum by (view) (rate(loopwatch_stalls_total{...}[$__rate_interval]))'

Every selector carries the dashboard's ``job`` and ``instance`` matchers, and
every selector of a per-view metric the ``view`` matcher, so no panel can
forget a filter the user picked.
"""

from __future__ import annotations

# Metric names are the contract in DESIGN.md; the dashboard uses no others.
STALLS = "loopwatch_stalls_total"
STALL_DURATION = "loopwatch_stall_duration_seconds"
REQUEST_LOOP = "loopwatch_request_loop_seconds"
LOOP_LAG = "loopwatch_loop_lag_seconds"
SYNC_ORM_CALLS = "loopwatch_sync_orm_calls_total"
STALLS_BY_CAUSE = "loopwatch_stalls_by_cause_total"
DELAYED_REQUESTS = "loopwatch_delayed_requests_total"
REQUEST_WAIT = "loopwatch_request_wait_seconds"
THREAD_HOPS = "loopwatch_thread_hops_total"
SYNC_TO_ASYNC_WAIT = "loopwatch_sync_to_async_wait_seconds"
# Exported beside the contract's metrics by loopwatch.metrics.
UNAWAITED = "loopwatch_unawaited_coroutines_total"
LOST_EXCEPTIONS = "loopwatch_lost_exceptions_total"

# The loop lag histogram is the only metric without a ``view`` label.
UNVIEWED = frozenset({LOOP_LAG})

RATE_INTERVAL = "$__rate_interval"
# Used only by instant queries that summarise the whole picked time range.
WHOLE_RANGE = "$__range"


def base_name(series: str) -> str:
    """The metric family of a series name: a histogram's parts map to the histogram."""
    for suffix in ("_bucket", "_sum", "_count"):
        if series.endswith(suffix):
            return series.removesuffix(suffix)
    return series


def selector(metric: str, *, all_views: bool = False) -> str:
    """The series selector for ``metric`` under the dashboard's variables.

    ``all_views`` drops the view filter, for denominators that must count
    every view (a share of the total).
    """
    matchers = ['job=~"$job"', 'instance=~"$instance"']
    if not all_views and base_name(metric) not in UNVIEWED:
        matchers.append('view=~"$view"')
    return f"{metric}{{{', '.join(matchers)}}}"


def rate(metric: str, *, window: str = RATE_INTERVAL, all_views: bool = False) -> str:
    """``rate()`` of a counter (or a histogram's ``_sum``/``_count``/``_bucket``)."""
    return f"rate({selector(metric, all_views=all_views)}[{window}])"


def increase(metric: str, *, window: str) -> str:
    """``increase()`` of a counter over ``window``."""
    return f"increase({selector(metric)}[{window}])"


def rate_by(metric: str, *labels: str, all_views: bool = False) -> str:
    """Per-second rate of ``metric`` summed by ``labels``."""
    return f"sum by ({', '.join(labels)}) ({rate(metric, all_views=all_views)})"


def quantile(q: float, histogram: str, *labels: str, window: str = RATE_INTERVAL) -> str:
    """The ``q`` quantile of ``histogram`` per ``labels``.

    Over ``$__rate_interval`` it is a quantile over time; over ``$__range``
    (with ``increase``) it is the quantile of every observation in the range.
    """
    fn = "rate" if window == RATE_INTERVAL else "increase"
    by = ", ".join((*labels, "le"))
    buckets = f"{fn}({selector(histogram + '_bucket')}[{window}])"
    return f"histogram_quantile({q:g}, sum by ({by}) ({buckets}))"
