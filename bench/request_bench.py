"""Instructions per Django request, plain vs loopwatch, counted by callgrind.

    python bench/run.py requests [--requests 400]

Each configuration runs `request_workload.py` twice under `valgrind --tool=callgrind`: with N
requests and with none; the difference divided by N is one request's cost, start-up (imports,
Django setup, warm-up requests) subtracted. Counted instructions do not depend on the
machine's speed or load, so the runs go in parallel and repeat to within 0.1%.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from request_workload import MODES, VALGRIND_SLOWDOWN

BENCH = Path(__file__).resolve().parent
WORKLOAD = BENCH / "request_workload.py"
VALGRIND = "/usr/bin/valgrind"
TARGETS = {"asyncio": 1.02, "uvloop": 1.03}

_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def callgrind_instructions(argv: Sequence[str]) -> int:
    """Instructions the command executes, every thread included, as callgrind counts them."""
    command = [VALGRIND, "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    match = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or match is None:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    return int(match.group(1))


def workload(mode: str, loop: str, n: int) -> list[str]:
    # The real interpreter binary, not a shim: valgrind must see the process that runs.
    return [sys.executable, str(WORKLOAD), mode, loop, str(n), str(VALGRIND_SLOWDOWN)]


def per_request(n: int, modes: Sequence[str], loops: Sequence[str]) -> dict[tuple[str, str], float]:
    """Instructions per request for each (mode, loop): (runs with N - runs with 0) / N."""
    jobs = [(mode, loop, count) for loop in loops for mode in modes for count in (0, n)]
    workers = max(1, len(os.sched_getaffinity(0)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        found = pool.map(lambda job: callgrind_instructions(workload(*job)), jobs)
        counts = dict(zip(jobs, found, strict=True))
    return {
        (mode, loop): (counts[mode, loop, n] - counts[mode, loop, 0]) / n
        for loop in loops
        for mode in modes
    }


def table(costs: dict[tuple[str, str], float], loops: Sequence[str]) -> str:
    lines = [f"{'loop':8} {'plain':>11} {'loopwatch':>11} {'added':>9} {'ratio':>7} {'target':>7}"]
    for loop in loops:
        plain, full = costs["plain", loop], costs["loopwatch", loop]
        ratio, target = full / plain, TARGETS[loop]
        lines.append(
            f"{loop:8} {plain:11,.0f} {full:11,.0f} {full - plain:+9,.0f} {ratio:6.3f}x "
            f"{target:6.2f}x  {'met' if ratio <= target else 'MISSED'}"
        )
    return "\n".join(lines)


RUNG_LABELS = {
    "app": "loopwatch in INSTALLED_APPS",
    "steps": "install(): step timing, watchdog",
    "scoped": "middleware + Django patches",
    "loopwatch": "Prometheus exporter",
}


def breakdown(costs: dict[tuple[str, str], float], loops: Sequence[str]) -> str:
    """What each rung of the ladder adds per request, and its share of a plain request."""
    lines = [f"{'loop':8} {'part':34} {'added':>9} {'of plain':>9}"]
    for loop in loops:
        plain = costs["plain", loop]
        for before, mode in itertools.pairwise(MODES):
            added = costs[mode, loop] - costs[before, loop]
            lines.append(f"{loop:8} {RUNG_LABELS[mode]:34} {added:+9,.0f} {added / plain:+8.1%}")
    return "\n".join(lines)


def watchdog_line(loop: str, seconds: float = 2.0) -> str:
    """The watchdog thread's CPU while serving natively: left out of the counts above."""
    command = [sys.executable, str(WORKLOAD), "watchdog", loop, str(seconds)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    per_second, rate = (float(x) for x in done.stdout.split())
    return (
        f"{loop:8} watchdog thread: {per_second:,.0f} us CPU per second "
        f"({per_second / 1e4:.2f}% of a core) while serving {rate:,.0f} requests/s in-process"
    )


def main(argv: Sequence[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--loop", action="append", choices=["asyncio", "uvloop"])
    parser.add_argument(
        "--breakdown", action="store_true", help="also measure what each part of loopwatch adds"
    )
    args = parser.parse_args(argv)
    if not os.path.exists(VALGRIND):
        raise SystemExit(f"{VALGRIND} is missing (Debian package valgrind)")
    loops = args.loop or ["asyncio", "uvloop"]
    print(
        f"instructions per request: GET /fast/ in-process through the ASGI app, "
        f"{args.requests} requests minus 0, callgrind",
        flush=True,
    )
    modes = MODES if args.breakdown else ("plain", "loopwatch")
    costs = per_request(args.requests, modes, loops)
    print(table(costs, loops))
    for loop in loops:
        print(watchdog_line(loop))
    if args.breakdown:
        print()
        print(breakdown(costs, loops))


if __name__ == "__main__":
    main()
