"""Metrics fed on the request path, per view: counted in plain Python, exposed when scraped.

    >>> hops = view_counter(registry, "loopwatch_thread_hops_total", "...", multiprocess=False)
    >>> hops.inc("shop.views.BookList")
    >>> loop = view_histogram(registry, "loopwatch_request_loop_seconds", "...", BUCKETS, False)
    >>> loop.observe("shop.views.BookList", 0.0021)

Every request ends with two histogram observations (its loop time and wait time) and every
`sync_to_async` hop it made adds one to a counter and, thread-sensitive, one to a histogram.
prometheus_client's `labels()` builds the label key and takes a lock, and `Histogram.observe`
walks the buckets in Python with a lock per bucket; `ViewHistogram` and `ViewCounter` keep each
view's numbers in plain lists (the bucket found in C, by `bisect`) and turn them into the same
samples at scrape time. Under `PROMETHEUS_MULTIPROC_DIR` every value has to reach
prometheus_client's per-process files as it happens, so there its own metrics are used.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString


class Observer(Protocol):
    def observe(self, view: str, value: float) -> None: ...


class Incrementer(Protocol):
    def inc(self, view: str, amount: float = 1) -> None: ...


def view_histogram(
    registry: CollectorRegistry, name: str, doc: str, buckets: Sequence[float], multiprocess: bool
) -> Observer:
    """A histogram labelled by `view`, registered in `registry`."""
    if multiprocess:
        return ClientHistogram(Histogram(name, doc, ["view"], buckets=buckets, registry=registry))
    return ViewHistogram(registry, name, doc, buckets)


def view_counter(
    registry: CollectorRegistry, name: str, doc: str, multiprocess: bool
) -> Incrementer:
    """A counter labelled by `view` (`name` ends in `_total`), registered in `registry`."""
    if multiprocess:
        return ClientCounter(Counter(name, doc, ["view"], registry=registry))
    return ViewCounter(registry, name, doc)


class ViewHistogram(Collector):
    """One histogram family: per view, per-bucket (not cumulative) counts and the sum."""

    def __init__(
        self, registry: CollectorRegistry, name: str, doc: str, buckets: Sequence[float]
    ) -> None:
        self.name, self.doc = name, doc
        self._bounds = tuple(buckets)
        # Bucket labels exactly as prometheus_client writes them ("0.0005", "1.0").
        self._labels = [floatToGoString(b) for b in self._bounds] + ["+Inf"]  # type: ignore[no-untyped-call]
        # Bounded like the `view` label itself: by the number of views. Each list ends with
        # the +Inf bucket, then the sum.
        self._views: dict[str, list[float]] = {}
        # Observed from loop threads and worker threads; a scrape reads from another thread.
        self._lock = threading.Lock()
        registry.register(self)

    def observe(self, view: str, value: float) -> None:
        with self._lock:
            counts = self._views.get(view)
            if counts is None:
                counts = self._views[view] = [0.0] * (len(self._bounds) + 2)
            # `le` buckets include their bound: the first bound >= the value.
            counts[bisect_left(self._bounds, value)] += 1
            counts[-1] += value

    def describe(self) -> Iterator[Metric]:
        # The name only, so that registering checks it against the registry's others.
        yield HistogramMetricFamily(self.name, self.doc, labels=["view"])

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            rows = [(view, list(counts)) for view, counts in self._views.items()]
        family = HistogramMetricFamily(self.name, self.doc, labels=["view"])
        for view, counts in rows:
            buckets, total = [], 0.0
            for label, count in zip(self._labels, counts, strict=False):
                total += count
                buckets.append((label, total))
            family.add_metric([view], buckets, counts[-1])
        yield family


class ViewCounter(Collector):
    """One counter family: a running total per view."""

    def __init__(self, registry: CollectorRegistry, name: str, doc: str) -> None:
        self.name, self.doc = name, doc
        self._views: dict[str, float] = {}
        self._lock = threading.Lock()
        registry.register(self)

    def inc(self, view: str, amount: float = 1) -> None:
        with self._lock:
            self._views[view] = self._views.get(view, 0.0) + amount

    def describe(self) -> Iterator[Metric]:
        yield CounterMetricFamily(self.name, self.doc, labels=["view"])

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            rows = list(self._views.items())
        family = CounterMetricFamily(self.name, self.doc, labels=["view"])
        for view, total in rows:
            family.add_metric([view], total)
        yield family


class _ClientMetric:
    """prometheus_client's own metric (multiprocess mode: values go to its files)."""

    def __init__(self, metric: Histogram | Counter) -> None:
        self._metric = metric
        # Looked up once per view: `labels()` takes a lock and builds the label key each time.
        self._children: dict[str, Any] = {}

    def _child(self, view: str) -> Any:
        child = self._children.get(view)
        if child is None:
            child = self._children[view] = self._metric.labels(view)
        return child


class ClientHistogram(_ClientMetric):
    def observe(self, view: str, value: float) -> None:
        self._child(view).observe(value)


class ClientCounter(_ClientMetric):
    def inc(self, view: str, amount: float = 1) -> None:
        self._child(view).inc(amount)
