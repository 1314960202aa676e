"""The real-world view: wrk against uvicorn serving /fast/, each configuration side by side.

    python bench/run.py wrk [--rounds 3] [--seconds 3]

wrk runs on one core and every thread of the server on the other (`taskset -a`). Every
configuration's server is started once and kept stopped (SIGSTOP) while the others are
measured, so idle servers take no CPU from the measured one. Rounds interleave the
configurations (the order rotates each round), and a second plain server is measured as if it
were one more configuration: its ratio to plain is the noise of the measurement.

The figure per configuration is its cost per request relative to plain on the same loop:
plain req/s / its req/s in the same round, median over rounds (1.00: no cost; 1.05: 5% fewer
requests per second).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WRK = "/usr/bin/wrk"
PATH = "/fast/"
TOKEN = "test-token-0123456789abcdef"  # the test project's LOOPWATCH["TOKEN"]
CONNECTIONS = 10
WARMUP_SECONDS = 1.0
SCRAPE_INTERVAL = 1.0


@dataclass(frozen=True)
class Config:
    """One server setup to measure."""

    label: str
    mode: str  # LOOPWATCH_BENCH_MODE, see server_app.py
    loop: str  # asyncio | uvloop
    scraped: bool = False  # GET /loopwatch/metrics every second while measured


def configurations(loops: Sequence[str] = ("asyncio", "uvloop")) -> list[Config]:
    rows = [
        ("plain", "plain", False),
        ("plain (control)", "plain", False),
        ("loopwatch", "loopwatch", False),
        ("loopwatch, scraped 1/s", "loopwatch", True),
        ("aiodebug", "aiodebug", False),
        ("asyncio debug mode", "debug", False),
    ]
    return [Config(label, mode, loop, scraped) for loop in loops for label, mode, scraped in rows]


@dataclass
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


@dataclass
class Server:
    config: Config
    process: subprocess.Popen[bytes]
    url: str
    results: list[Result] = field(default_factory=list)
    recorded: int | None = None  # loopwatch servers: records of stalls seen while measured

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cpus() -> tuple[int | None, int | None]:
    """(wrk's core, the server's core), or (None, None) when there are fewer than two."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None, None
    return available[0], available[1]


def start_server(config: Config, server_cpu: int | None, log: Path) -> Server:
    port = free_port()
    env = dict(os.environ)
    env["LOOPWATCH_BENCH_MODE"] = config.mode
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [
        sys.executable, "-m", "uvicorn", "server_app:application",
        "--app-dir", str(BENCH), "--host", "127.0.0.1", "--port", str(port),
        "--loop", config.loop, "--http", "h11", "--lifespan", "auto",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    if server_cpu is not None:
        command = ["taskset", "-a", "-c", str(server_cpu), *command]
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    return Server(config, process, f"http://127.0.0.1:{port}")


def wait_until_answering(server: Server, log: Path, deadline: float = 60.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if server.process.poll() is not None:
            raise SystemExit(f"{server.config} exited:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(server.url + PATH, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)  # polling interval
    raise SystemExit(f"{server.config} did not answer within {deadline:.0f} s")


@contextmanager
def scraping(server: Server) -> Iterator[list[int]]:
    """GET /loopwatch/metrics every second, as Prometheus would; yields the statuses seen."""
    statuses: list[int] = []
    stop = threading.Event()

    def scrape() -> None:
        request = urllib.request.Request(
            server.url + "/loopwatch/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        while not stop.is_set():
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    response.read()
                    statuses.append(response.status)
            except OSError:
                statuses.append(0)
            stop.wait(SCRAPE_INTERVAL)

    thread = threading.Thread(target=scrape, name="scraper", daemon=True)
    thread.start()
    try:
        yield statuses
    finally:
        stop.set()
        thread.join()


_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_PERCENTILE = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(output: str) -> Result:
    rps = _RPS.search(output)
    if rps is None:
        raise SystemExit(f"could not read wrk's output:\n{output}")
    percentiles = {p: float(v) * _UNIT_MS[u] for p, v, u in _PERCENTILE.findall(output)}
    errors = sum(int(n) for n in _NON_2XX.findall(output))
    for match in _SOCKET_ERRORS.findall(output):
        errors += sum(int(n) for n in match)
    p50, p99 = percentiles.get("50", 0.0), percentiles.get("99", 0.0)
    return Result(float(rps.group(1)), p50, p99, errors)


def run_wrk(url: str, seconds: float, wrk_cpu: int | None) -> Result:
    command = [WRK, "-t1", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--latency", url]
    if wrk_cpu is not None:
        command = ["taskset", "-c", str(wrk_cpu), *command]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return parse_wrk(done.stdout)


def measure(server: Server, seconds: float, wrk_cpu: int | None) -> Result:
    server.resume()
    try:
        with ExitStack() as stack:
            statuses = stack.enter_context(scraping(server)) if server.config.scraped else None
            run_wrk(server.url + PATH, WARMUP_SECONDS, wrk_cpu)
            result = run_wrk(server.url + PATH, seconds, wrk_cpu)
        if statuses is not None and (not statuses or set(statuses) != {200}):
            raise SystemExit(f"scraping /loopwatch/metrics failed: statuses {statuses}")
        return result
    finally:
        server.pause()


def count_records(server: Server) -> int:
    """Stalls the server recorded: /fast/ never blocks, so each is a false alarm or a real
    hiccup of the machine (the server descheduled for a threshold's length)."""
    request = urllib.request.Request(
        server.url + "/loopwatch/stalls.json", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    server.resume()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return len(json.load(response)["stalls"])
    finally:
        server.pause()


def stop_all(servers: Sequence[Server]) -> None:
    for server in servers:
        server.resume()
        server.process.send_signal(signal.SIGINT)
    for server in servers:
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


def run(rounds: int, seconds: float, loops: Sequence[str], log: Path) -> list[Server]:
    configs = configurations(loops)
    wrk_cpu, server_cpu = cpus()
    total = len(configs) * rounds * (WARMUP_SECONDS + seconds)
    print(
        f"wrk: {len(configs)} configurations x {rounds} rounds x "
        f"({WARMUP_SECONDS:g} s warm-up + {seconds:g} s) = {total:.0f} s, plus server start-up",
        flush=True,
    )
    if wrk_cpu is None:
        print("warning: fewer than two CPUs available; wrk and the servers share them")
    else:
        print(f"wrk on CPU {wrk_cpu}, every server thread on CPU {server_cpu}", flush=True)
    log.write_bytes(b"")
    servers = [start_server(config, server_cpu, log) for config in configs]
    try:
        for server in servers:
            wait_until_answering(server, log)
            server.pause()
        for round_index in range(rounds):
            shift = round_index % len(servers)
            for server in [*servers[shift:], *servers[:shift]]:
                server.results.append(measure(server, seconds, wrk_cpu))
            print(f"  round {round_index + 1}/{rounds} done", flush=True)
        for server in servers:
            if server.config.mode == "loopwatch":
                server.recorded = count_records(server)
    finally:
        stop_all(servers)
    return servers


def table(servers: Sequence[Server]) -> str:
    lines = [
        f"{'loop':8} {'configuration':24} {'req/s':>8} {'cost vs plain':>13}  "
        f"{'per round':24} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'stalls':>6}"
    ]
    for server in servers:
        plain = next(
            s for s in servers if s.config.loop == server.config.loop and s.config.label == "plain"
        )
        ratios = [
            p.requests_per_second / r.requests_per_second
            for p, r in zip(plain.results, server.results, strict=True)
        ]
        rps = statistics.median(r.requests_per_second for r in server.results)
        p50 = statistics.median(r.p50_ms for r in server.results)
        p99 = statistics.median(r.p99_ms for r in server.results)
        errors = sum(r.errors for r in server.results)
        per_round = " ".join(f"{x:.2f}" for x in ratios)
        stalls = "" if server.recorded is None else str(server.recorded)
        lines.append(
            f"{server.config.loop:8} {server.config.label:24} {rps:8.0f} "
            f"{statistics.median(ratios):12.2f}x  {per_round:24} {p50:7.2f} {p99:7.2f} {errors:6d} "
            f"{stalls:>6}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per run")
    parser.add_argument("--loop", action="append", choices=["asyncio", "uvloop"])
    parser.add_argument("--log", type=Path, default=Path("/tmp/loopwatch-wrk-servers.log"))
    args = parser.parse_args(argv)
    if not os.path.exists(WRK):
        raise SystemExit(f"{WRK} is missing (Debian package wrk)")
    servers = run(args.rounds, args.seconds, args.loop or ["asyncio", "uvloop"], args.log)
    print(table(servers))


if __name__ == "__main__":
    main()
