"""One process of the per-step benchmark: N x `await asyncio.sleep(0)` under one configuration.

    python bench/step_workload.py MODE LOOP N   # MODE: plain|aiodebug|loopwatch|loopwatch-hotpath

Run under `valgrind --tool=callgrind`; the difference between N and N=0 runs, divided by N,
is the cost of one loop step.
"""

from __future__ import annotations

import asyncio
import sys


async def steps(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def main(mode: str, n: int) -> None:
    if mode in ("loopwatch", "loopwatch-hotpath"):
        import loopwatch

        # Inside the running loop, as the Django middleware does: under uvloop this sets the
        # task factory, so the timed steps run in a task created afterwards.
        monitor = loopwatch.install(threshold=0.1, log=False)
        if mode == "loopwatch-hotpath":
            # Only what each step pays: the watchdog thread (and the lag pings it sends) works
            # on a wall-clock interval, which valgrind's ~50x slowdown would charge to far
            # fewer steps than it really spans.
            monitor.watchdog.stop()
    await asyncio.get_running_loop().create_task(steps(n))
    if mode in ("loopwatch", "loopwatch-hotpath"):
        import loopwatch

        loopwatch.uninstall()


def run(mode: str, loop: str, n: int) -> None:
    if mode == "aiodebug":
        from aiodebug import log_slow_callbacks

        log_slow_callbacks.enable(0.1, lambda name, seconds: None)
    if loop == "uvloop":
        import uvloop

        uvloop.run(main(mode, n))
    else:
        asyncio.run(main(mode, n))


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2], int(sys.argv[3]))
