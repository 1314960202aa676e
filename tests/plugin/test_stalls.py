"""A test during which a step held the loop fails, naming the line; one that awaits passes."""

from __future__ import annotations

import pytest

from tests.plugin.conftest import Project

BLOCKING_AND_AWAITING = """
import asyncio
import time

import pytest


@pytest.mark.asyncio
async def test_blocks():
    time.sleep(0.12)


@pytest.mark.asyncio
async def test_awaits():
    await asyncio.sleep(0.12)
"""


def test_blocking_test_fails_with_its_line_and_awaiting_test_passes(project: Project) -> None:
    """time.sleep in an async test fails it with count, worst, threshold, file:line and code."""
    project.tests(BLOCKING_AND_AWAITING)
    result = project.run("--loopwatch-threshold=0.05")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_blocks _*",
            "loopwatch: 1 step held the event loop for >= 0.050s (worst 0.1*s; add -v for stacks)",
            "  0.1*s [[]io[]] outside any request, during the test",
            f"    {project.where('time.sleep')} in test_blocks: time.sleep(0.12)",
        ]
    )
    result.stdout.fnmatch_lines(["FAILED test_suite.py::test_blocks - Failed: loopwatch: 1 step*"])
    result.stdout.no_fnmatch_line("*test_awaits*")


def test_verbose_shows_the_stack(project: Project) -> None:
    """With -v each stall also shows its full stack, innermost frame last."""
    project.tests(
        """
        import time
        import pytest

        def helper():
            time.sleep(0.1)

        @pytest.mark.asyncio
        async def test_blocks():
            helper()
        """
    )
    result = project.run("--loopwatch-threshold=0.05", "-v")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "loopwatch: 1 step held the event loop for >= 0.050s (worst 0.1*s)",
            f"    {project.where('time.sleep')} in helper: time.sleep(0.1)",
            "    stack (most recent call last):",
            f"*{project.where('    helper()')} in test_blocks: helper()",
            f"      {project.where('time.sleep')} in helper: time.sleep(0.1)",
        ]
    )


def test_auto_mode(project: Project) -> None:
    """Under pytest-asyncio's auto mode (no marks) blocking tests fail the same way."""
    project.ini(asyncio_mode="auto")
    project.tests(
        """
        import asyncio
        import time

        async def test_blocks():
            time.sleep(0.12)

        async def test_awaits():
            await asyncio.sleep(0.12)
        """
    )
    result = project.run("--loopwatch-threshold=0.05")
    result.assert_outcomes(passed=1, failed=1)
    blocking = f"*{project.where('time.sleep')} in test_blocks: time.sleep(0.12)"
    result.stdout.fnmatch_lines([blocking])


def test_own_loop_with_asyncio_run(project: Project) -> None:
    """A plain test that starts its own loop with asyncio.run is watched from its first step."""
    project.tests(
        """
        import asyncio
        import time

        async def handler():
            await asyncio.sleep(0)
            time.sleep(0.12)

        def test_own_loop():
            asyncio.run(handler())

        def test_own_loop_awaiting():
            asyncio.run(asyncio.sleep(0.12))
        """
    )
    result = project.run("--loopwatch-threshold=0.05")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_own_loop _*",
            f"*{project.where('time.sleep')} in handler: time.sleep(0.12)",
        ]
    )


def test_stall_inside_a_task_and_a_callback(project: Project) -> None:
    """Stalls in spawned tasks and in bare call_soon callbacks count against the test."""
    project.tests(
        """
        import asyncio
        import time
        import pytest

        async def worker():
            time.sleep(0.08)

        @pytest.mark.asyncio
        async def test_spawned_task():
            await asyncio.gather(worker(), asyncio.sleep(0.01))

        @pytest.mark.asyncio
        async def test_callback():
            done = asyncio.Event()
            def callback():
                time.sleep(0.09)
                done.set()
            asyncio.get_running_loop().call_soon(callback)
            await done.wait()
        """
    )
    result = project.run("--loopwatch-threshold=0.05")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            f"*{project.where('time.sleep(0.08)')} in worker: time.sleep(0.08)",
            f"*{project.where('time.sleep(0.09)')} in callback: time.sleep(0.09)",
        ]
    )


def test_failing_test_keeps_its_own_error_and_shows_the_stall(project: Project) -> None:
    """A test that fails by itself reports its own assertion, with the stalls as a section."""
    project.tests(
        """
        import time
        import pytest

        @pytest.mark.asyncio
        async def test_fails_anyway():
            time.sleep(0.1)
            assert 1 == 2
        """
    )
    result = project.run("--loopwatch-threshold=0.05")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E       assert 1 == 2",
            "*Captured loopwatch call*",
            "loopwatch: 1 step held the event loop for >= 0.050s*",
            f"    {project.where('time.sleep')} in test_fails_anyway: time.sleep(0.1)",
        ]
    )


def test_sync_test_is_untouched(project: Project) -> None:
    """A sync test that sleeps runs no loop, so it cannot stall one: it passes."""
    project.tests(
        """
        import time

        def test_sync_sleep():
            time.sleep(0.1)
        """
    )
    result = project.run("--loopwatch-threshold=0.05")
    result.assert_outcomes(passed=1)


UVLOOP_CONFTEST = """
import loopwatch
import pytest_asyncio
import uvloop


def pytest_asyncio_loop_factories(config, item):
    return {"uvloop": uvloop.new_event_loop}


@pytest_asyncio.fixture(autouse=True)
async def _loopwatch_uvloop():
    # uvloop has no hook before the loop exists: watch it from inside, before the test's task.
    monitor = loopwatch.current_monitor()
    if monitor is not None:
        monitor.watch_running_loop()
"""


def test_uvloop_tests_are_watched_from_an_autouse_fixture(project: Project) -> None:
    """Under uvloop the documented autouse fixture makes blocking tests fail as on asyncio."""
    pytest.importorskip("uvloop")
    project.pytester.makeconftest(UVLOOP_CONFTEST)
    project.tests(
        """
        import asyncio
        import time
        import pytest

        @pytest.mark.asyncio
        async def test_blocks_on_uvloop():
            assert type(asyncio.get_running_loop()).__module__.startswith("uvloop")
            time.sleep(0.1)

        @pytest.mark.asyncio
        async def test_awaits_on_uvloop():
            await asyncio.sleep(0.1)
        """
    )
    result = project.run("--loopwatch-threshold=0.05")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_blocks_on_uvloop*_*",
            f"    {project.where('time.sleep')} in test_blocks_on_uvloop: time.sleep(0.1)",
        ]
    )
