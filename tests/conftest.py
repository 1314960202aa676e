"""Suite-wide guard: no test may leave loopwatch installed, a patch applied or a thread running.

Kept generic on purpose: folders add their own fixtures in their own conftest.py.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Iterator

import pytest

import loopwatch

# Captured at import, before any test could patch it: the standard library's own function.
STDLIB_HANDLE_RUN = asyncio.events.Handle.__dict__["_run"]


def _is_loopwatch_object(obj: object) -> bool:
    return str(getattr(obj, "__module__", "") or "").startswith("loopwatch")


def loopwatch_leaks() -> list[str]:
    """Everything loopwatch left behind: patches, gc callbacks, an installation, threads."""
    leaks = []
    if asyncio.events.Handle.__dict__.get("_run") is not STDLIB_HANDLE_RUN:
        leaks.append(f"asyncio.events.Handle._run is {asyncio.events.Handle._run!r}")
    leaks.extend(f"gc.callbacks holds {cb!r}" for cb in gc.callbacks if _is_loopwatch_object(cb))
    if loopwatch.is_installed():
        leaks.append("loopwatch.is_installed() is true")
    leaks.extend(
        f"thread {t.name!r} is alive"
        for t in threading.enumerate()
        if t.name.startswith("loopwatch-")
    )
    return leaks


def _clean_up() -> None:
    loopwatch.uninstall()
    asyncio.events.Handle._run = STDLIB_HANDLE_RUN  # type: ignore[method-assign]
    gc.callbacks[:] = [cb for cb in gc.callbacks if not _is_loopwatch_object(cb)]


@pytest.fixture(autouse=True)
def _no_loopwatch_leak() -> Iterator[None]:
    """Fails the test that leaks a loopwatch patch, installation or thread (then cleans up)."""
    # A run-wide installation (the pytest plugin turned on for the whole run) is not a leak.
    if loopwatch.is_installed():
        yield
        return
    yield
    leaks = loopwatch_leaks()
    if leaks:
        _clean_up()
        pytest.fail("loopwatch leaked out of the test: " + "; ".join(leaks), pytrace=False)
