"""The two per-request histograms: every request ends here, so this is on the request path.

    >>> histograms = request_histograms(registry, multiprocess=False)
    >>> histograms.observe("shop.views.BookList", loop_time=0.0021, wait_time=0.0)

`loopwatch_request_loop_seconds` and `loopwatch_request_wait_seconds` (DESIGN.md) get one
observation each per request. prometheus_client's `Histogram.observe` walks the buckets in
Python and takes a lock per bucket and for the sum; `ViewHistograms` instead counts each view's
observations in plain lists, one bucket index found in C (`bisect`), and turns them into the
same samples when scraped. Under `PROMETHEUS_MULTIPROC_DIR` every value has to reach
prometheus_client's per-process files as it happens, so there the histograms are its own.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import Protocol

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

REQUEST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

LOOP = (
    "loopwatch_request_loop_seconds",
    "Per request: total time its steps held the event loop.",
)
WAIT = (
    "loopwatch_request_wait_seconds",
    "Per request: time it waited while other requests' steps held the loop.",
)


class RequestHistograms(Protocol):
    def observe(self, view: str, loop_time: float, wait_time: float) -> None: ...


def request_histograms(registry: CollectorRegistry, multiprocess: bool) -> RequestHistograms:
    """The request histograms registered in `registry`."""
    if multiprocess:
        return ClientHistograms(registry)
    return ViewHistograms(registry)


class _Counts:
    """One view's observations: per-bucket (not cumulative) counts, the last one +Inf."""

    __slots__ = ("loop", "loop_sum", "wait", "wait_sum")

    def __init__(self, buckets: int) -> None:
        self.loop = [0] * (buckets + 1)
        self.loop_sum = 0.0
        self.wait = [0] * (buckets + 1)
        self.wait_sum = 0.0


class ViewHistograms(Collector):
    """Both histograms for every view, counted in plain Python, exposed at scrape time."""

    def __init__(self, registry: CollectorRegistry, buckets: Sequence[float] = REQUEST_BUCKETS):
        self._bounds = tuple(buckets)
        # Bucket labels exactly as prometheus_client writes them ("0.0005", "1.0").
        self._labels = [floatToGoString(b) for b in self._bounds] + ["+Inf"]  # type: ignore[no-untyped-call]
        # Bounded like the `view` label itself: by the number of views.
        self._views: dict[str, _Counts] = {}
        # Requests may end on more than one loop thread; a scrape reads from another thread.
        self._lock = threading.Lock()
        registry.register(self)

    def observe(self, view: str, loop_time: float, wait_time: float) -> None:
        bounds = self._bounds
        with self._lock:
            counts = self._views.get(view)
            if counts is None:
                counts = self._views[view] = _Counts(len(bounds))
            # `le` buckets include their bound: the first bound >= the value.
            counts.loop[bisect_left(bounds, loop_time)] += 1
            counts.loop_sum += loop_time
            counts.wait[bisect_left(bounds, wait_time)] += 1
            counts.wait_sum += wait_time

    def describe(self) -> Iterator[Metric]:
        # Names only, so that registering checks them against the registry's others.
        yield HistogramMetricFamily(*LOOP, labels=["view"])
        yield HistogramMetricFamily(*WAIT, labels=["view"])

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            rows = [
                (view, list(c.loop), c.loop_sum, list(c.wait), c.wait_sum)
                for view, c in self._views.items()
            ]
        loop = HistogramMetricFamily(*LOOP, labels=["view"])
        wait = HistogramMetricFamily(*WAIT, labels=["view"])
        for view, loop_counts, loop_sum, wait_counts, wait_sum in rows:
            loop.add_metric([view], self._cumulative(loop_counts), loop_sum)
            wait.add_metric([view], self._cumulative(wait_counts), wait_sum)
        yield loop
        yield wait

    def _cumulative(self, counts: list[int]) -> list[tuple[str, float]]:
        buckets, total = [], 0
        for label, count in zip(self._labels, counts, strict=True):
            total += count
            buckets.append((label, float(total)))
        return buckets


class ClientHistograms:
    """prometheus_client's own histograms (multiprocess mode: values go to its files)."""

    def __init__(self, registry: CollectorRegistry, buckets: Sequence[float] = REQUEST_BUCKETS):
        self._loop = Histogram(*LOOP, ["view"], buckets=buckets, registry=registry)
        self._wait = Histogram(*WAIT, ["view"], buckets=buckets, registry=registry)
        # Looked up once per view: `labels()` takes a lock and builds the label key each time.
        self._children: dict[str, tuple[Histogram, Histogram]] = {}

    def observe(self, view: str, loop_time: float, wait_time: float) -> None:
        children = self._children.get(view)
        if children is None:
            children = self._children[view] = (self._loop.labels(view), self._wait.labels(view))
        children[0].observe(loop_time)
        children[1].observe(wait_time)
