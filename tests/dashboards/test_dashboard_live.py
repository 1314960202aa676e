"""Every dashboard query returns data from a real Prometheus scraping the demo site under load.

The demo runs exactly as a user starts it (``scripts/demo.py``, what ``make demo``
runs: migrate, uvicorn, the load driver over every view), on asyncio and on uvloop.
Debian's Prometheus scrapes it every second with the shipped ``prometheus.yml`` and
rules. Then each panel's queries are run as Grafana would run them with every
picker on "All".
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from dashboard_model import DASHBOARDS, panels
from panel_check import check_panel, check_variables
from promserver import PrometheusServer

from tests.servers import free_port, server_env

ROOT = DASHBOARDS.parent
DEMO_SCRIPT = ROOT / "scripts" / "demo.py"
SCRAPE_INTERVAL = 1.0
LOAD_SECONDS = 8
# printed by scripts/demo.py once the load driver has finished and its report is out
LOAD_DONE = "Still serving at"

pytestmark = [pytest.mark.needs_prometheus, pytest.mark.real_server]


@dataclass(frozen=True)
class LoadedPrometheus:
    """A Prometheus that scraped the demo site through a whole load-driver run."""

    server: PrometheusServer
    demo_url: str
    load_started: float
    load_ended: float


def scrape_config(target: str) -> str:
    """The shipped prometheus.yml, scraping ``target`` every second, rules by absolute path."""
    config: dict[str, Any] = yaml.safe_load((DASHBOARDS / "prometheus.yml").read_text("utf-8"))
    interval = f"{SCRAPE_INTERVAL:g}s"
    config["global"].update(scrape_interval=interval, evaluation_interval=interval)
    config["rule_files"] = [str(DASHBOARDS / path) for path in config["rule_files"]]
    (job,) = config["scrape_configs"]
    job["static_configs"] = [{"targets": [target]}]
    return yaml.safe_dump(config)


class DemoProcess:
    """``scripts/demo.py`` in a child process, its output read line by line."""

    def __init__(self, port: int, loop: str, workdir: Path) -> None:
        env = server_env({"DEMO_SITE_DB": str(workdir / "db.sqlite3"), "PYTHONUNBUFFERED": "1"})
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, str(DEMO_SCRIPT), "--port", str(port),
             "--duration", str(LOAD_SECONDS), "--concurrency", "20", "--loop", loop],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float) -> None:
        """Block until the demo prints ``text``; fail with its output if it exits or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.output.append(line)
            if text in line:
                return
        pytest.fail(f"the demo did not print {text!r}:\n{''.join(self.output)[-4000:]}")

    def stop(self) -> None:
        """Stop it as Ctrl-C would: the script then stops its uvicorn server itself."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# Under uvloop loopwatch times task steps with a task factory instead of patching
# asyncio's Handle: every panel must have data either way.
@pytest.fixture(scope="module", params=["asyncio", "uvloop"])
def loaded_prometheus(
    request: pytest.FixtureRequest,
    start_prometheus: Callable[[str], PrometheusServer],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LoadedPrometheus]:
    """Prometheus scraping the demo site while its load driver runs, until one scrape after."""
    port = free_port()
    server = start_prometheus(scrape_config(f"127.0.0.1:{port}"))
    load_started = time.time()
    demo = DemoProcess(port, request.param, tmp_path_factory.mktemp("demo"))
    try:
        demo.wait_for(LOAD_DONE, timeout=LOAD_SECONDS + 120)
        load_ended = time.time()
        # A scrape that began after the driver finished has seen everything it caused.
        server.wait_for_targets_up(timeout=30, after=load_ended)
        yield LoadedPrometheus(server, f"http://127.0.0.1:{port}", load_started, load_ended)
    finally:
        demo.stop()
        server.stop()


def panel_cases() -> list[Any]:
    model = json.loads((DASHBOARDS / "loopwatch.json").read_text(encoding="utf-8"))
    return [pytest.param(panel, id=panel["title"]) for panel in panels(model)]


@pytest.mark.parametrize("panel", panel_cases())
def test_panel_queries_return_data(
    panel: dict[str, Any], loaded_prometheus: LoadedPrometheus
) -> None:
    """The panel's queries, run as Grafana runs them, are valid and return data to draw."""
    problems = check_panel(
        panel,
        loaded_prometheus.server,
        start=loaded_prometheus.load_started,
        end=loaded_prometheus.load_ended + SCRAPE_INTERVAL,
        scrape_interval=SCRAPE_INTERVAL,
    )
    assert not problems, "\n".join(problems)


def test_every_picker_offers_the_demo_views(
    dashboard: dict[str, Any], loaded_prometheus: LoadedPrometheus
) -> None:
    """The job, instance and view pickers list the scraped demo and every view it served."""
    offered = check_variables(dashboard, loaded_prometheus.server)
    assert offered["job"] == ["django"]
    assert offered["instance"] == [loaded_prometheus.demo_url.removeprefix("http://")]
    views = set(offered["view"])
    assert any(".mistakes." in view for view in views), views
    assert any(".correct." in view for view in views), views


def test_recording_rules_evaluate_on_real_data(loaded_prometheus: LoadedPrometheus) -> None:
    """The shipped recording rules load and produce series from the demo's metrics."""
    rules = loaded_prometheus.server.api("rules")["groups"]
    assert {g["name"] for g in rules} == {"loopwatch.recording", "loopwatch.alerts"}
    for group in rules:
        for rule in group["rules"]:
            assert rule["health"] == "ok", rule
    result = loaded_prometheus.server.query("job_view:loopwatch_stalls:rate5m")
    assert result["result"], "no recorded stall rate"
