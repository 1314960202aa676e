"""Each stall's duration observation carries its record id as an OpenMetrics exemplar."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from tests.browser import chromium_command, keep_for_docs, screenshot
from tests.dashboards.promserver import PrometheusServer
from tests.servers import Server, require_binary

from .conftest import AUTH, SLEEP_VIEW, at_line, poll, serve, source_line, stall_records

pytestmark = [pytest.mark.real_server]

OPENMETRICS = "application/openmetrics-text; version=1.0.0"
BUCKETS = "loopwatch_stall_duration_seconds_bucket"


def exemplars_in(text: str) -> list[tuple[dict[str, str], Any]]:
    """(bucket labels, exemplar) for every stall-duration bucket that carries one."""
    found = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == BUCKETS and sample.exemplar is not None:
                found.append((sample.labels, sample.exemplar))
    return found


def stall_section(page: str, stall_id: int) -> str | None:
    """The page's group section that holds the record anchored `stall-<id>`."""
    for section in page.split('<section class="group')[1:]:
        if f'id="stall-{stall_id}"' in section:
            return section
    return None


def sleep_and_find_the_record(server: Server) -> dict[str, Any]:
    """Make the sleep view stall once; its record (the one at the sleep's line)."""
    assert server.get("/sleep/", params={"s": "0.12"}).status_code == 200
    return poll(
        "the stall record", lambda: at_line(stall_records(server, SLEEP_VIEW), "SLEEP_LINE")
    )


def test_openmetrics_scrape_carries_the_stall_id(tmp_path: Path) -> None:
    """An OpenMetrics scrape has an exemplar {stall_id} on the bucket that counted the stall."""
    with serve(tmp_path) as server:
        record = sleep_and_find_the_record(server)
        response = server.get("/loopwatch/metrics", headers={**AUTH, "Accept": OPENMETRICS})
        assert response.headers["Content-Type"].startswith("application/openmetrics-text")
        found = [(labels, ex) for labels, ex in exemplars_in(response.text)
                 if ex.labels == {"stall_id": str(record["id"])}]  # fmt: skip
        assert len(found) == 1, response.text
        labels, exemplar = found[0]
        assert labels["view"] == SLEEP_VIEW
        assert exemplar.value == pytest.approx(record["duration"], abs=1e-3)
        # The smallest bucket whose bound holds the duration is the one that carries it.
        assert float(labels["le"]) >= record["duration"]
        # The classic text format (what a scraper gets without asking) has no exemplars.
        plain = server.get("/loopwatch/metrics", headers=AUTH).text
        assert " # {" not in plain


def test_prometheus_exemplar_leads_to_the_record_and_its_line(tmp_path: Path) -> None:
    """Prometheus (exemplar storage on) returns the stall id; the page shows it with its line.

    This is the path of docs/reading-a-stall.md, and makes its screenshot.
    """
    binary = require_binary("prometheus")
    browser = chromium_command(tmp_path)
    (tmp_path / "site").mkdir()
    # DEBUG on opens the page to the browser (which cannot send the bearer token).
    with serve(tmp_path / "site", LOOPWATCH_TEST_DEBUG="1") as server:
        record = sleep_and_find_the_record(server)
        series = stored_exemplars(binary, tmp_path / "prometheus", server)
        views = {
            ex["labels"]["stall_id"]: s["seriesLabels"]["view"]
            for s in series
            for ex in s["exemplars"]
        }
        assert views.get(str(record["id"])) == SLEEP_VIEW, series
        # The id resolves to the record on the page, in the group naming the blocking line.
        page = server.get("/loopwatch/", headers=AUTH).text
        section = stall_section(page, record["id"])
        assert section is not None, f"no stall-{record['id']} anchor on the page"
        assert f"tests/testproject/views.py:{source_line('SLEEP_LINE')}" in section
        link = f"{server.url}/loopwatch/#stall-{record['id']}"
        # Tall enough for the whole page: nothing scrolls, the group's header stays in view.
        shot = screenshot(browser, link, tmp_path / "page.png", window=(1400, 1500))
    keep_for_docs(shot, "reading-a-stall-page.png")
    keep_for_docs(json.dumps(series, indent=2).encode() + b"\n", "reading-a-stall-exemplar.json")


def stored_exemplars(binary: str, workdir: Path, server: Server) -> list[dict[str, Any]]:
    """Scrape `server` with a real Prometheus until its exemplars API returns the stall's."""
    config = f"""
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: django
    metrics_path: /loopwatch/metrics
    authorization:
      type: Bearer
      credentials: {AUTH["Authorization"].split()[1]}
    static_configs:
      - targets: ["{server.url.removeprefix("http://")}"]
"""
    workdir.mkdir()
    prometheus = PrometheusServer(
        binary, workdir, config, extra_args=("--enable-feature=exemplar-storage",)
    ).start()
    try:
        prometheus.wait_for_targets_up()
        selector = f'{BUCKETS}{{view="{SLEEP_VIEW}"}}'

        def stored() -> list[dict[str, Any]] | None:
            now = time.time()
            data = prometheus.api("query_exemplars", query=selector, start=now - 600, end=now + 60)
            return data or None

        return poll("exemplars from Prometheus", stored)
    finally:
        prometheus.stop()


def test_multiprocess_mode_has_no_exemplars(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR set the scrape still counts the stall, without exemplar."""
    metrics_dir = tmp_path / "prometheus-multiproc"
    metrics_dir.mkdir()
    with serve(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)) as server:
        sleep_and_find_the_record(server)
        text = server.get("/loopwatch/metrics", headers={**AUTH, "Accept": OPENMETRICS}).text
    assert re.search(rf'{BUCKETS}\{{[^}}]*view="{re.escape(SLEEP_VIEW)}"', text), text
    assert exemplars_in(text) == []
