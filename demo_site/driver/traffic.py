"""Concurrent traffic to every demo view for a fixed time.

traffic = await send_traffic("http://127.0.0.1:8000", targets, duration=20, concurrency=20)
"""

import asyncio
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from demo_site.driver.report import ViewTraffic

# Status recorded for a request that got no HTTP answer (refused, reset, timed out).
NO_ANSWER = 0


@dataclass(frozen=True)
class Target:
    """One view the driver requests: its dotted name (as loopwatch names it) and how to call it."""

    view: str
    method: str
    path: str
    mistake: bool = False


def progress_bar(elapsed: float, duration: float, requests: int, width: int = 30) -> str:
    """``[#########.....]  6.0/20 s  312 requests``: one line, no terminal codes."""
    fraction = min(max(elapsed / duration, 0.0), 1.0) if duration > 0 else 1.0
    done = round(fraction * width)
    return (
        f"[{'#' * done}{'.' * (width - done)}] "
        f"{min(elapsed, duration):5.1f}/{duration:g} s  {requests} requests"
    )


async def send_traffic(
    base_url: str,
    targets: Sequence[Target],
    duration: float,
    concurrency: int,
    on_progress: Callable[[float, int], None] | None = None,
    progress_every: float = 0.25,
) -> dict[str, ViewTraffic]:
    """Request the targets round-robin from ``concurrency`` workers until ``duration`` is up.

    The workers share one round-robin, so every view gets its turn even when slow views hold
    the workers (or the loop) for most of the run, and every view is in flight alongside the
    others: that is what makes one view's stall visible as other views' wait.
    """
    if not targets:
        raise ValueError("no targets to send traffic to")
    traffic = {t.view: ViewTraffic(path=t.path, mistake=t.mistake) for t in targets}
    started = time.monotonic()
    deadline = started + duration
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base_url, timeout=30.0, limits=limits) as client:
        turns = itertools.count()

        async def worker() -> None:
            while time.monotonic() < deadline:
                target = targets[next(turns) % len(targets)]
                try:
                    response = await client.request(target.method, target.path)
                    status = response.status_code
                except httpx.TransportError:
                    status = NO_ANSWER
                traffic[target.view].statuses[status] += 1
                if status == NO_ANSWER:
                    # Do not spin on a server that is down; it is reported in the table.
                    await asyncio.sleep(0.1)

        workers = asyncio.gather(*(worker() for _ in range(concurrency)))
        while on_progress is not None and not workers.done():
            on_progress(time.monotonic() - started, sum(t.requests for t in traffic.values()))
            await asyncio.wait([workers], timeout=progress_every)
        await workers
    if on_progress is not None:
        on_progress(time.monotonic() - started, sum(t.requests for t in traffic.values()))
    return traffic
