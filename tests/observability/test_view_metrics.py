"""Per-view metrics counted in plain Python expose exactly what prometheus_client's would.

Single-process mode adds requests and hops up per view and builds the samples at scrape time;
multiprocess mode uses prometheus_client's own metrics. A scrape must not be able to tell them
apart (the dashboard's `histogram_quantile` and `rate` queries read both).
"""

from __future__ import annotations

import threading

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.parser import text_string_to_metric_families

from loopwatch.metrics import REQUEST_BUCKETS
from loopwatch.view_metrics import (
    ClientCounter,
    ClientHistogram,
    Incrementer,
    Observer,
    ViewCounter,
    ViewHistogram,
)

LOOP = "loopwatch_request_loop_seconds"
HOPS = "loopwatch_thread_hops_total"
# Bounds themselves (a bucket includes its bound), between them, zero, beyond the last bound.
VALUES = [0.0, 0.0005, 0.0007, 0.001, 0.003, 0.1, 0.1000001, 2.5, 7.0, *REQUEST_BUCKETS]
VIEWS = ("shop.views.BookList", 'shop.views.<odd "name">')

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(registry: CollectorRegistry) -> Samples:
    """Every sample but `_created` (when a series was created is not what is compared)."""
    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def feed(histogram: Observer, counter: Incrementer) -> None:
    for index, value in enumerate(VALUES):
        histogram.observe(VIEWS[0], value)
        counter.inc(VIEWS[0])
        if index % 3 == 0:
            histogram.observe(VIEWS[1], value / 2)
            counter.inc(VIEWS[1], 2)


def test_samples_are_prometheus_clients_own() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    feed(ViewHistogram(ours, LOOP, "doc", REQUEST_BUCKETS), ViewCounter(ours, HOPS, "doc"))
    feed(
        ClientHistogram(Histogram(LOOP, "doc", ["view"], buckets=REQUEST_BUCKETS, registry=theirs)),
        ClientCounter(Counter(HOPS, "doc", ["view"], registry=theirs)),
    )

    expected = samples(theirs)
    assert samples(ours) == expected
    # Not an empty comparison: both views, both metrics, every bucket.
    assert {f"{LOOP}_bucket", f"{LOOP}_sum", f"{LOOP}_count", HOPS} == {n for n, _ in expected}
    assert {dict(labels)["view"] for _, labels in expected} == set(VIEWS)
    assert expected[(f"{LOOP}_count", (("view", VIEWS[0]),))] == len(VALUES)
    assert expected[(HOPS, (("view", VIEWS[1]),))] == 2 * len(VALUES[::3])


def test_openmetrics_exposition_declares_the_types() -> None:
    registry = CollectorRegistry()
    ViewHistogram(registry, LOOP, "doc", REQUEST_BUCKETS).observe("v", 0.002)
    ViewCounter(registry, HOPS, "doc").inc("v")
    text = generate_openmetrics(registry).decode()
    assert f"# TYPE {LOOP} histogram" in text
    assert f'{LOOP}_bucket{{le="0.0025",view="v"}} 1.0' in text
    assert f'{LOOP}_bucket{{le="0.001",view="v"}} 0.0' in text
    assert "# TYPE loopwatch_thread_hops counter" in text
    assert 'loopwatch_thread_hops_total{view="v"} 1.0' in text


def test_a_name_already_registered_is_refused() -> None:
    registry = CollectorRegistry()
    ViewHistogram(registry, LOOP, "doc", REQUEST_BUCKETS)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        Histogram(LOOP, "doc", ["view"], registry=registry)


def test_observations_from_several_threads_are_all_counted() -> None:
    registry = CollectorRegistry()
    histogram = ViewHistogram(registry, LOOP, "doc", REQUEST_BUCKETS)
    counter = ViewCounter(registry, HOPS, "doc")
    start = threading.Barrier(4)

    def observe_many() -> None:
        start.wait()
        for _ in range(5000):
            histogram.observe("v", 0.002)
            counter.inc("v")

    threads = [threading.Thread(target=observe_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    found = samples(registry)
    assert found[(f"{LOOP}_count", (("view", "v"),))] == 20_000
    assert found[(HOPS, (("view", "v"),))] == 20_000
    # Summed one at a time: only float rounding apart, far less than one lost observation.
    assert found[(f"{LOOP}_sum", (("view", "v"),))] == pytest.approx(40.0, abs=1e-6)
