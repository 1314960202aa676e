"""What `LOOPWATCH["TRACK_UNAWAITED"]` (coroutine origin tracking) costs per request.

    python bench/unawaited_cost.py            # callgrind: instructions per request, 3 configs
    python bench/unawaited_cost.py run MODE N # one process: N requests (MODE below)

MODE is `plain` (Django alone, loopwatch neither in INSTALLED_APPS nor started), `loopwatch`
(the test project's ASGI stack with LoopwatchMiddleware started by a lifespan startup, as under
uvicorn: every default hook on), `core` (the same without the Common Mistakes hooks of
`loopwatch.mistakes`: what those cost by default) or `tracking` (`loopwatch` with
TRACK_UNAWAITED). Each process
serves WARMUP requests to /fast/ first, then N more, one at a time, in-process (no sockets);
the N=0 run is subtracted, so start-up and warm-up cancel out.

Under callgrind the program runs about 100x slower than the clock, so the threshold (and with
it the watchdog's poll rate) and the GIL switch interval are scaled by TIME_SCALE: otherwise
the slowed program would poll and switch threads far more often per request than a real one.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WARMUP = 20
REQUESTS = 400
TIME_SCALE = 100.0
THRESHOLD = 0.1
PATH = "/fast/"
MODES = ("plain", "core", "loopwatch", "tracking")


def build_app(mode: str) -> Any:
    import django
    from django.conf import settings

    from tests.testproject import settings as project

    values = {name: getattr(project, name) for name in dir(project) if name.isupper()}
    values["LOOPWATCH"] = {
        **values["LOOPWATCH"],
        "THRESHOLD": THRESHOLD * TIME_SCALE,
        "TRACK_UNAWAITED": mode == "tracking",
    }
    if mode == "plain":
        values["INSTALLED_APPS"] = [a for a in values["INSTALLED_APPS"] if a != "loopwatch"]
    settings.configure(**values)
    django.setup(set_prefix=False)
    from django.core.handlers.asgi import ASGIHandler

    if mode == "core":
        from loopwatch import integrations

        integrations.unregister("mistakes")

    if mode == "plain":
        return ASGIHandler()
    from loopwatch.asgi import LoopwatchMiddleware

    return LoopwatchMiddleware(ASGIHandler())


async def serve(mode: str, n: int) -> None:
    app = build_app(mode)
    from tests.mistakes import asgi_driver  # after settings: it imports Django's handler

    lifespan: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    answers: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    task = None
    if mode != "plain":
        task = asyncio.get_running_loop().create_task(
            app({"type": "lifespan"}, lifespan.get, answers.put)
        )
        await lifespan.put({"type": "lifespan.startup"})
        await answers.get()
        check_on(mode)
    for _ in range(WARMUP + n):
        if await asgi_driver.get(app, PATH) != 200:
            raise SystemExit(f"{PATH} did not answer 200")
    if task is not None:
        await lifespan.put({"type": "lifespan.shutdown"})
        await answers.get()
        await task


def check_on(mode: str) -> None:
    """Refuse to measure a configuration that is not the one asked for."""
    from asgiref.sync import SyncToAsync

    import loopwatch

    depth = sys.get_coroutine_origin_tracking_depth()
    hooked = SyncToAsync.__call__.__module__ == "loopwatch.hops"
    if (
        not loopwatch.is_installed()
        or (depth > 0) != (mode == "tracking")
        or hooked != (mode != "core")
    ):
        raise SystemExit(f"{mode}: installed={loopwatch.is_installed()}, {depth=}, {hooked=}")


def run(mode: str, n: int) -> None:
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    sys.setswitchinterval(sys.getswitchinterval() * TIME_SCALE)
    asyncio.run(serve(mode, n))


def instructions(mode: str, n: int) -> int:
    """Instructions callgrind counts for one process (the real interpreter, not a shim)."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "run",
        mode,
        str(n),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    found = re.search(r"Collected : (\d+)", result.stderr)
    if found is None:
        raise SystemExit(result.stderr[-2000:])
    return int(found.group(1))


def main() -> None:
    per_request = {}
    for mode in MODES:
        base = instructions(mode, 0)
        per_request[mode] = (instructions(mode, REQUESTS) - base) / REQUESTS
    plain = per_request["plain"]
    print(f"instructions per request to {PATH} ({REQUESTS} requests, stock asyncio)")
    for mode in MODES:
        print(f"  {mode:10} {per_request[mode]:>12,.0f}  {per_request[mode] / plain:.3f}x plain")
    hooks = per_request["loopwatch"] / per_request["core"]
    extra = per_request["tracking"] / per_request["loopwatch"]
    print(f"  the Common Mistakes hooks: {hooks:.3f}x loopwatch without them")
    print(f"  TRACK_UNAWAITED: {extra:.3f}x loopwatch's default")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "run":
        run(sys.argv[2], int(sys.argv[3]))
    else:
        main()
