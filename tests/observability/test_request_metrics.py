"""The per-request histograms, counted in plain Python, expose what prometheus_client would.

Single-process mode adds each request up per view and builds the samples at scrape time;
multiprocess mode uses prometheus_client's own histograms. A scrape must not be able to tell
them apart (the dashboard's `histogram_quantile` and `rate` queries read both).
"""

from __future__ import annotations

import threading

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.parser import text_string_to_metric_families

from loopwatch.request_metrics import REQUEST_BUCKETS, ClientHistograms, ViewHistograms

# Bounds themselves (a bucket includes its bound), between them, zero, beyond the last bound.
VALUES = [0.0, 0.0005, 0.0007, 0.001, 0.003, 0.1, 0.1000001, 2.5, 7.0, *REQUEST_BUCKETS]


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample but `_created` (when a series was created is not what is compared)."""
    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def observe_all(histograms: ViewHistograms | ClientHistograms) -> None:
    for index, value in enumerate(VALUES):
        histograms.observe("shop.views.BookList", value, VALUES[-1 - index])
        if index % 3 == 0:
            histograms.observe('shop.views.<odd "name">', value / 2, value)


def test_samples_are_prometheus_clients_own() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    observe_all(ViewHistograms(ours))
    observe_all(ClientHistograms(theirs))

    expected = samples(theirs)
    assert samples(ours) == expected
    # Not an empty comparison: both views, both histograms, every bucket.
    names = {name for name, _ in expected}
    assert {"loopwatch_request_loop_seconds_bucket", "loopwatch_request_wait_seconds_sum"} <= names
    views = {dict(labels).get("view") for _, labels in expected}
    assert views == {"shop.views.BookList", 'shop.views.<odd "name">'}
    count = expected[("loopwatch_request_loop_seconds_count", (("view", "shop.views.BookList"),))]
    assert count == len(VALUES)


def test_openmetrics_exposition_declares_histograms() -> None:
    registry = CollectorRegistry()
    ViewHistograms(registry).observe("v", 0.002, 0.0)
    text = generate_openmetrics(registry).decode()
    assert "# TYPE loopwatch_request_loop_seconds histogram" in text
    assert 'loopwatch_request_loop_seconds_bucket{le="0.0025",view="v"} 1.0' in text
    assert 'loopwatch_request_loop_seconds_bucket{le="0.001",view="v"} 0.0' in text


def test_observations_from_several_threads_are_all_counted() -> None:
    registry = CollectorRegistry()
    histograms = ViewHistograms(registry)
    start = threading.Barrier(4)

    def observe_many() -> None:
        start.wait()
        for _ in range(5000):
            histograms.observe("v", 0.001, 0.002)

    threads = [threading.Thread(target=observe_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    found = samples(registry)
    assert found[("loopwatch_request_loop_seconds_count", (("view", "v"),))] == 20_000
    # Summed one at a time: only float rounding apart, far less than one lost observation.
    wait_sum = found[("loopwatch_request_wait_seconds_sum", (("view", "v"),))]
    assert wait_sum == pytest.approx(20_000 * 0.002, abs=1e-6)
