"""A real Prometheus server for tests, on 127.0.0.1 with throwaway storage.

    server = PrometheusServer(binary, workdir, config_text).start()
    server.wait_for_targets_up()
    server.query("up")
    server.stop()

Every path Prometheus would otherwise take from the system (config, storage,
consoles, web assets) points into ``workdir``; it listens on a free loopback
port only.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tests.servers import free_port


class PrometheusError(RuntimeError):
    """Prometheus did not start, or did not answer as expected."""


@dataclass
class PrometheusServer:
    binary: str
    workdir: Path
    config_text: str
    port: int = 0
    # More command-line flags, e.g. ("--enable-feature=exemplar-storage",).
    extra_args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "prometheus.log"

    def log(self) -> str:
        """What Prometheus printed so far, for failure messages."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]

    def start(self, timeout: float = 30.0) -> PrometheusServer:
        """Start Prometheus and wait until it reports ready."""
        config = self.workdir / "prometheus.yml"
        config.write_text(self.config_text, encoding="utf-8")
        # Another process can take the port between free_port() and Prometheus'
        # bind; a fresh port on the next attempt settles that.
        for _attempt in range(3):
            self.port = free_port()
            self._spawn(config)
            if self._wait_ready(timeout):
                return self
            if "address already in use" not in self.log():
                break
        self.stop()
        raise PrometheusError(f"Prometheus did not become ready:\n{self.log()}")

    def _spawn(self, config: Path) -> None:
        # The agent-mode storage path is the one default left: Prometheus refuses
        # the flag outside agent mode and never touches that path in server mode.
        for sub in ("data", "consoles", "console_libraries", "web"):
            (self.workdir / sub).mkdir(exist_ok=True)
        cmd = [
            self.binary,
            f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.console.templates={self.workdir / 'consoles'}",
            f"--web.console.libraries={self.workdir / 'console_libraries'}",
            f"--web.local-assets={self.workdir / 'web'}",
            "--log.level=warn",
            *self.extra_args,
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )

    def _wait_ready(self, timeout: float) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        """Stop Prometheus (idempotent)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def api(self, path: str, **params: Any) -> Any:
        """GET ``/api/v1/<path>`` and return its ``data``; raise with Prometheus' error."""
        response = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=30)
        body = response.json()
        if body.get("status") != "success":
            raise PrometheusError(f"{body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def targets(self) -> list[dict[str, Any]]:
        """The active scrape targets with their health and last scrape."""
        active: list[dict[str, Any]] = self.api("targets", state="active")["activeTargets"]
        return active

    def wait_for_targets_up(self, timeout: float = 30.0, after: float | None = None) -> None:
        """Poll the targets API until every target is up (scraped after ``after``, if given).

        Right after /-/ready the target list can still be empty for seconds,
        so an empty list means "not yet", never "done".
        """
        deadline = time.monotonic() + timeout
        seen: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            seen = self.targets()
            if seen and all(_scraped_up(t, after) for t in seen):
                return
            time.sleep(0.2)
        states = [(t.get("scrapeUrl"), t.get("health"), t.get("lastError")) for t in seen]
        raise PrometheusError(f"targets not up within {timeout}s: {states}\n{self.log()}")

    def query(self, expr: str, at: float | None = None) -> dict[str, Any]:
        """An instant query."""
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = at
        result: dict[str, Any] = self.api("query", **params)
        return result

    def query_range(self, expr: str, start: float, end: float, step: float) -> dict[str, Any]:
        """A range query, as Grafana sends for a time series panel."""
        result: dict[str, Any] = self.api(
            "query_range", query=expr, start=start, end=end, step=step
        )
        return result


def _scraped_up(target: dict[str, Any], after: float | None) -> bool:
    if target.get("health") != "up":
        return False
    if after is None:
        return True
    last = _parse_rfc3339(str(target.get("lastScrape", "")))
    return last is not None and last > after


def _parse_rfc3339(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
