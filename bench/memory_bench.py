"""Memory stays bounded: RSS after 200k requests (10k of them stalls) vs RSS after 10k.

    python bench/run.py memory [--requests 200000] [--stalls 10000]

The test project's application with loopwatch fully on (middleware, Django patches,
exporter, log sink) is driven in-process, `CONCURRENCY` requests in flight at a time. Every
`1/STALL_SHARE`-th request stalls the loop (`time.sleep` in SleepView, over a low threshold, so
each becomes a full record: sampled stack, cause, metrics); another share asks for a path no
URL matches, each path different, so any per-URL growth would show. loopwatch's buffers are
bounded (ring of records, groups, log sink's rate limiter, metric labels by view): the RSS
after all requests must stay within `LIMIT_MB` of the RSS after the first 10k.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from request_workload import Lifespan, request

THRESHOLD = 0.002
STALL_SECONDS = 0.003
CONCURRENCY = 20
LIMIT_MB = 10.0
BASELINE_AT = 10_000


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


@dataclass
class Progress:
    total: int
    every: int  # one stall per `every` requests
    started: int = 0
    done: int = 0
    stalls: int = 0
    failures: int = 0
    baseline_mb: float = 0.0


def target(index: int, every: int) -> tuple[str, bytes, int]:
    """Path, query and expected status of request number `index`."""
    if index % every == 0:
        return "/sleep/", f"s={STALL_SECONDS}&n={index}".encode(), 200
    if index % every == 1:
        return f"/missing/{index}/<b>{index}</b>/", b"", 404
    return "/fast/", f"n={index}".encode(), 200


async def worker(app: object, progress: Progress) -> None:
    loop = asyncio.get_running_loop()
    while progress.started < progress.total:
        index = progress.started
        progress.started += 1
        path, query, expected = target(index, progress.every)
        status = await loop.create_task(request(app, path, query))  # type: ignore[arg-type]
        progress.failures += status != expected
        progress.stalls += path == "/sleep/"
        progress.done += 1
        if progress.done == BASELINE_AT:
            progress.baseline_mb = rss_mb()


async def drive(app: object, progress: Progress) -> None:
    server = Lifespan(app)  # type: ignore[arg-type]
    await server.startup()
    await asyncio.gather(*(worker(app, progress) for _ in range(CONCURRENCY)))
    await server.shutdown()


def main(argv: Sequence[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--stalls", type=int, default=10_000)
    args = parser.parse_args(argv)
    from request_workload import build_app

    # The log sink stays on (its rate limiter is one of the bounded buffers) but prints nothing.
    logging.getLogger("loopwatch").addHandler(logging.NullHandler())
    logging.getLogger("loopwatch").propagate = False
    app = build_app("loopwatch", THRESHOLD=THRESHOLD, LOG=True)
    every = max(2, args.requests // args.stalls)
    progress = Progress(total=args.requests, every=every)
    print(
        f"memory: {args.requests} requests in-process, {CONCURRENCY} in flight, one in {every} "
        f"stalls {STALL_SECONDS * 1000:g} ms (threshold {THRESHOLD * 1000:g} ms)",
        flush=True,
    )
    started = time.monotonic()
    asyncio.run(drive(app, progress))
    final = rss_mb()
    from loopwatch.metrics import get_exporter

    recorded = get_exporter().registry.get_sample_value(
        "loopwatch_stalls_total", {"view": "tests.testproject.views.SleepView"}
    )
    series = sum(len(metric.samples) for metric in get_exporter().registry.collect())
    growth = final - progress.baseline_mb
    print(f"requests {progress.done}, injected stalls {progress.stalls}, recorded {recorded:.0f}")
    print(f"failed requests {progress.failures}, metric samples exported {series}")
    print(f"RSS after {BASELINE_AT}: {progress.baseline_mb:.1f} MB")
    print(f"RSS after {progress.done}: {final:.1f} MB")
    print(f"growth {growth:+.1f} MB (limit {LIMIT_MB:g} MB)")
    print(f"took {time.monotonic() - started:.0f} s")
    ok = growth <= LIMIT_MB and progress.failures == 0 and (recorded or 0) >= progress.stalls
    print("memory: PASS" if ok else "memory: FAIL")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
