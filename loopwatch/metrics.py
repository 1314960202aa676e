"""Prometheus metrics: the names and labels fixed in DESIGN.md, fed by a sink.

    >>> exporter = PrometheusExporter(registry=CollectorRegistry())
    >>> monitor.sinks.add(exporter)
    >>> exposition(exporter, accept="application/openmetrics-text")   # bytes, content type

With `PROMETHEUS_MULTIPROC_DIR` set, prometheus_client writes every value to per-process
files and `exposition()` serves the sum over all worker processes (a fresh registry and
`MultiProcessCollector` per scrape, as prometheus_client requires). Exemplars (a stall's id on
its duration observation) are only possible in single-process mode.
"""

from __future__ import annotations

import os
import threading

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder

from loopwatch.context import RequestState
from loopwatch.records import Record, StallRecord, SyncOrmRecord
from loopwatch.sinks import Sink
from loopwatch.view_metrics import view_counter, view_histogram

STALL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LAG_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
REQUEST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class PrometheusExporter(Sink):
    """Turns records and request ends into Prometheus observations."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.multiprocess = multiprocess_dir() is not None
        r = self.registry
        self.stalls = Counter(
            "loopwatch_stalls_total",
            "Steps that held the event loop for at least the threshold.",
            ["view"],
            registry=r,
        )
        self.stall_duration = Histogram(
            "loopwatch_stall_duration_seconds",
            "Duration of each step that held the loop for at least the threshold.",
            ["view"],
            buckets=STALL_BUCKETS,
            registry=r,
        )
        self.request_loop = view_histogram(
            r,
            "loopwatch_request_loop_seconds",
            "Per request: total time its steps held the event loop.",
            REQUEST_BUCKETS,
            self.multiprocess,
        )
        self.loop_lag = Histogram(
            "loopwatch_loop_lag_seconds",
            "How late the event loop answered a heartbeat.",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.sync_orm = Counter(
            "loopwatch_sync_orm_calls_total",
            "ORM calls made on the event-loop thread.",
            ["view", "outcome"],
            registry=r,
        )
        self.stalls_by_cause = Counter(
            "loopwatch_stalls_by_cause_total",
            "Stalls split by cause (io, cpu, gil, gc, unknown).",
            ["view", "cause"],
            registry=r,
        )
        self.delayed_requests = Counter(
            "loopwatch_delayed_requests_total",
            "Other in-flight requests delayed by this view's stalls.",
            ["view"],
            registry=r,
        )
        self.request_wait = view_histogram(
            r,
            "loopwatch_request_wait_seconds",
            "Per request: time it waited while other requests' steps held the loop.",
            REQUEST_BUCKETS,
            self.multiprocess,
        )
        self.thread_hops = view_counter(
            r,
            "loopwatch_thread_hops_total",
            "sync_to_async hops made while serving the view.",
            self.multiprocess,
        )
        self.sync_to_async_wait = view_histogram(
            r,
            "loopwatch_sync_to_async_wait_seconds",
            "Queue wait before a thread-sensitive sync function started.",
            LAG_BUCKETS,
            self.multiprocess,
        )
        self.unawaited = Counter(
            "loopwatch_unawaited_coroutines_total",
            "Coroutines created while serving the view and never awaited.",
            ["view"],
            registry=r,
        )
        self.lost_exceptions = Counter(
            "loopwatch_lost_exceptions_total",
            "Task exceptions never retrieved, by the view that created the task.",
            ["view"],
            registry=r,
        )

    def on_record(self, record: Record) -> None:
        view = record.view
        if isinstance(record, StallRecord):
            self.stalls.labels(view).inc()
            exemplar = None if self.multiprocess else {"stall_id": str(record.id)}
            self.stall_duration.labels(view).observe(record.duration, exemplar=exemplar)
            self.stalls_by_cause.labels(view, record.cause).inc()
            if record.delayed_requests:
                self.delayed_requests.labels(view).inc(record.delayed_requests)
        elif isinstance(record, SyncOrmRecord):
            self.sync_orm.labels(view, record.outcome).inc()
        elif record.kind == "unawaited":
            self.unawaited.labels(view).inc()
        elif record.kind == "lost_exception":
            self.lost_exceptions.labels(view).inc()

    def on_lag(self, seconds: float) -> None:
        self.loop_lag.observe(seconds)

    # The three below run for every request or hop: see view_metrics.py.

    def on_request_end(self, state: RequestState) -> None:
        self.request_loop.observe(state.view, state.loop_time)
        self.request_wait.observe(state.view, state.wait_time)

    def on_hop(self, view: str, wait: float | None) -> None:
        self.thread_hops.inc(view)
        if wait is not None:
            self.sync_to_async_wait.observe(view, wait)


_exporter: PrometheusExporter | None = None
_exporter_lock = threading.Lock()


def get_exporter() -> PrometheusExporter:
    """The process-wide exporter (metrics must outlive install/uninstall cycles)."""
    global _exporter
    with _exporter_lock:
        if _exporter is None:
            _exporter = PrometheusExporter()
        return _exporter


def exposition(exporter: PrometheusExporter, accept: str | None) -> tuple[bytes, str]:
    """The text to serve to a scrape, and its content type (OpenMetrics when asked for)."""
    encoder, content_type = choose_encoder(accept or "")
    if exporter.multiprocess:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return encoder(registry), content_type
    return encoder(exporter.registry), content_type
