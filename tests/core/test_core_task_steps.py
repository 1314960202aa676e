"""A timed task behaves exactly like an untimed one: results, errors, cancellation, cleanup.

Under uvloop every task created after start-up runs through loopwatch's step timer (a
generator around the task's coroutine); these are the task semantics users' code relies on,
checked on both loops.
"""

from __future__ import annotations

import asyncio
import os
import traceback
from collections.abc import Callable
from typing import Any

import pytest
from blockers import sleep_for, tagged_line, timed
from watched import Main

from loopwatch import StallRecord

Run = Callable[[Main, float], list[StallRecord]]


async def cancelled_after_first_step(coro: Any) -> asyncio.Task[Any]:
    """A task for `coro`, cancelled once its first step has run."""
    task = asyncio.get_running_loop().create_task(coro)
    await asyncio.sleep(0)
    task.cancel()
    return task


def test_a_task_returns_its_coroutines_value(run: Run) -> None:
    results: list[Any] = []

    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    async def main() -> None:
        results.append(await asyncio.get_running_loop().create_task(answer()))

    run(main, 1.0)
    assert results == [42]


def test_an_error_reaches_the_awaiter_with_its_own_traceback(run: Run) -> None:
    caught: list[BaseException] = []

    async def fails() -> None:
        await asyncio.sleep(0)
        raise LookupError("no such book")

    async def main() -> None:
        try:
            await asyncio.get_running_loop().create_task(fails())
        except LookupError as exc:
            caught.append(exc)

    run(main, 1.0)
    (error,) = caught
    assert str(error) == "no such book"
    innermost = traceback.extract_tb(error.__traceback__)[-1]
    assert innermost.name == "fails"
    assert innermost.line == 'raise LookupError("no such book")'


def test_cancellation_reaches_the_coroutine_and_its_cleanup_runs(run: Run) -> None:
    events: list[str] = []

    async def waits() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            events.append("cancelled")
            await asyncio.sleep(0)  # cleanup may still await
            events.append("cleaned up")
            raise

    async def main() -> None:
        task = await cancelled_after_first_step(waits())
        with pytest.raises(asyncio.CancelledError):
            await task
        events.append(f"task cancelled: {task.cancelled()}")

    run(main, 1.0)
    assert events == ["cancelled", "cleaned up", "task cancelled: True"]


def test_a_coroutine_may_swallow_its_cancellation_and_return(run: Run) -> None:
    results: list[str] = []

    async def stubborn() -> str:
        # Never waits on a future: a cancellation is thrown into the coroutine at its await.
        try:
            for _ in range(10_000):
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            return "kept going"
        return "never saw the cancellation"

    async def main() -> None:
        task = await cancelled_after_first_step(stubborn())
        results.append(await task)

    run(main, 1.0)
    assert results == ["kept going"]


def test_a_task_is_named_after_its_coroutine(run: Run) -> None:
    names: list[str] = []

    async def checkout_basket() -> None:
        await asyncio.sleep(0)

    async def main() -> None:
        task = asyncio.get_running_loop().create_task(checkout_basket())
        names.append(repr(task))
        await task

    run(main, 1.0)
    assert "checkout_basket()" in names[0]


def test_a_step_after_a_cancellation_is_timed_like_any_other(run: Run) -> None:
    """The step a cancellation starts (the coroutine's `except` block) is a step too."""
    blocked: list[float] = []

    async def blocks_when_cancelled() -> None:
        try:
            for _ in range(10_000):
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            blocked.append(timed(sleep_for, 0.060))
            raise

    async def main() -> None:
        task = await cancelled_after_first_step(blocks_when_cancelled())
        with pytest.raises(asyncio.CancelledError):
            await task

    stalls = run(main, 0.030)
    assert len(stalls) == 1, [(s.duration, s.blocking_line) for s in stalls]
    stall = stalls[0]
    assert stall.blocking_line is not None
    assert os.path.basename(stall.blocking_line.file) == "blockers.py"
    assert stall.blocking_line.line == tagged_line("sleep")
    assert stall.duration == pytest.approx(blocked[0], rel=0.03, abs=0.002)
