"""Turning loopwatch on and off: everything it changed comes back, nothing runs on."""

from __future__ import annotations

import asyncio
import gc
import math
import threading
from collections.abc import Callable
from typing import Any

import pytest
from watched import Main

import loopwatch

RunLoop = Callable[[Main], Any]


def loopwatch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("loopwatch-")]


def custom_task_factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
    return asyncio.Task(coro, loop=loop, **kwargs)


def test_uninstall_restores_every_patched_object_by_identity(run_loop: RunLoop) -> None:
    """After uninstall(): Handle._run, gc.callbacks and the task factory are the originals."""
    handle_run = asyncio.events.Handle.__dict__["_run"]
    callbacks = list(gc.callbacks)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_task_factory(custom_task_factory)
        loopwatch.install(threshold=0.05)
        assert loopwatch.is_installed()
        assert len(loopwatch_threads()) == 1
        if isinstance(loop, asyncio.BaseEventLoop):
            assert asyncio.events.Handle.__dict__["_run"] is not handle_run
        else:
            assert loop.get_task_factory() is not custom_task_factory
        assert len(gc.callbacks) == len(callbacks) + 1
        await asyncio.sleep(0.01)

        loopwatch.uninstall()

        assert asyncio.events.Handle.__dict__["_run"] is handle_run
        assert loop.get_task_factory() is custom_task_factory
        assert len(gc.callbacks) == len(callbacks)
        assert all(a is b for a, b in zip(gc.callbacks, callbacks, strict=True))
        assert loopwatch_threads() == []
        assert not loopwatch.is_installed()

    run_loop(main)


def test_leaving_watching_restores_everything(run_loop: RunLoop) -> None:
    """Leaving `watching()` undoes every patch and stops the watchdog thread."""
    handle_run = asyncio.events.Handle.__dict__["_run"]
    callbacks = list(gc.callbacks)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_task_factory(custom_task_factory)
        with loopwatch.watching(threshold=0.05):
            assert loopwatch.is_installed()
            await asyncio.sleep(0.01)
        assert asyncio.events.Handle.__dict__["_run"] is handle_run
        assert loop.get_task_factory() is custom_task_factory
        assert gc.callbacks == callbacks
        assert loopwatch_threads() == []
        assert not loopwatch.is_installed()

    run_loop(main)


def test_install_twice_is_a_no_op(run_loop: RunLoop) -> None:
    """A second install() patches nothing again and starts no second thread."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        first = loopwatch.install(threshold=0.05)
        handle_run = asyncio.events.Handle.__dict__["_run"]
        factory = loop.get_task_factory()
        callbacks = list(gc.callbacks)
        try:
            second = loopwatch.install(threshold=0.05)
            assert second is first
            assert asyncio.events.Handle.__dict__["_run"] is handle_run
            assert loop.get_task_factory() is factory
            assert gc.callbacks == callbacks
            assert len(loopwatch_threads()) == 1
        finally:
            loopwatch.uninstall()

    run_loop(main)


def test_nested_watching_restores_the_previous_threshold(run_loop: RunLoop) -> None:
    """An inner `watching()` sets its threshold; leaving it brings the outer one back."""

    async def main() -> None:
        with loopwatch.watching(threshold=0.2) as outer:
            await asyncio.sleep(0)
            with loopwatch.watching(threshold=0.02) as inner:
                assert inner is outer
                assert outer.threshold == 0.02
                assert {state.threshold for state in outer.watched_loops()} == {0.02}
                await asyncio.sleep(0)
            assert loopwatch.is_installed()
            assert outer.threshold == 0.2
            assert {state.threshold for state in outer.watched_loops()} == {0.2}
        assert not loopwatch.is_installed()

    run_loop(main)


def test_watching_inside_install_keeps_the_installation() -> None:
    """`watching()` inside an explicit install() leaves it installed, at its old threshold."""
    monitor = loopwatch.install(threshold=0.3)
    try:
        with loopwatch.watching(threshold=0.01):
            assert monitor.threshold == 0.01
        assert loopwatch.is_installed()
        assert monitor.threshold == 0.3
    finally:
        loopwatch.uninstall()


BAD_THRESHOLDS = [0, 0.0, -0.05, math.nan, math.inf, -math.inf, "0.05", True, None]


@pytest.mark.parametrize("value", BAD_THRESHOLDS, ids=repr)
@pytest.mark.parametrize("start", ["install", "watching"])
def test_bad_threshold_raises_value_error_naming_threshold(start: str, value: Any) -> None:
    """A threshold that is not a finite number of seconds > 0 is refused, by name."""
    with pytest.raises(ValueError, match="threshold"):
        turn_on(start, value)
    assert not loopwatch.is_installed()


def turn_on(start: str, threshold: Any) -> None:
    if start == "install":
        loopwatch.install(threshold=threshold)
        return
    with loopwatch.watching(threshold=threshold):
        pass


def test_bad_threshold_leaves_a_running_installation_unchanged() -> None:
    """Refusing a bad threshold does not touch the installation already running."""
    monitor = loopwatch.install(threshold=0.05)
    try:
        with pytest.raises(ValueError, match="threshold"):
            loopwatch.install(threshold=-1)
        assert monitor.threshold == 0.05
    finally:
        loopwatch.uninstall()
