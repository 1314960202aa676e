"""Stalls in fixture setup and teardown are reported against the test, naming the fixture."""

from __future__ import annotations

from tests.plugin.conftest import Project

FIXTURES = """
import time

import pytest
import pytest_asyncio


@pytest_asyncio.fixture
async def slow_setup():
    time.sleep(0.1)
    yield "resource"


@pytest_asyncio.fixture
async def slow_teardown():
    yield "resource"
    time.sleep(0.11)


@pytest.mark.asyncio
async def test_uses_slow_setup(slow_setup):
    assert slow_setup == "resource"


@pytest.mark.asyncio
async def test_uses_slow_teardown(slow_teardown):
    assert slow_teardown == "resource"
"""


def test_setup_stall_fails_the_test_and_names_the_fixture(project: Project) -> None:
    """A stall in an async fixture's setup fails the test itself, saying which fixture."""
    project.tests(FIXTURES)
    result = project.run("--loopwatch-threshold=0.05", "-k", "slow_setup")
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_uses_slow_setup _*",
            "loopwatch: 1 step held the event loop for >= 0.050s*",
            "  0.1*s [[]*[]] outside any request, during setup of fixture 'slow_setup'",
            f"    {project.where('time.sleep(0.1)')} in slow_setup: time.sleep(0.1)",
        ]
    )


def test_teardown_stall_errors_at_teardown_and_names_the_fixture(project: Project) -> None:
    """A stall in an async fixture's teardown is an error at teardown of the test."""
    project.tests(FIXTURES)
    result = project.run("--loopwatch-threshold=0.05", "-k", "slow_teardown")
    result.assert_outcomes(passed=1, errors=1, deselected=1)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at teardown of test_uses_slow_teardown _*",
            "loopwatch: 1 step held the event loop for >= 0.050s*",
            "  0.1*s [[]*[]] outside any request, during teardown of fixture 'slow_teardown'",
            f"    {project.where('time.sleep(0.11)')} in slow_teardown: time.sleep(0.11)",
        ]
    )


def test_sync_fixture_running_its_own_loop(project: Project) -> None:
    """A sync fixture that runs a loop (asyncio.run) is watched like the test's own loop."""
    project.tests(
        """
        import asyncio
        import time
        import pytest

        async def prepare():
            time.sleep(0.1)

        @pytest.fixture
        def prepared():
            asyncio.run(prepare())

        def test_prepared(prepared):
            pass
        """
    )
    result = project.run("--loopwatch-threshold=0.05")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*during setup of fixture 'prepared'",
            f"    {project.where('time.sleep')} in prepare: time.sleep(0.1)",
        ]
    )


def test_stall_of_a_failing_fixture_is_shown_with_its_error(project: Project) -> None:
    """When the fixture that stalled also raises, the error shows the stall as a section."""
    project.tests(
        """
        import time
        import pytest
        import pytest_asyncio

        @pytest_asyncio.fixture
        async def broken():
            time.sleep(0.1)
            raise RuntimeError("no database")

        @pytest.mark.asyncio
        async def test_never_runs(broken):
            pass
        """
    )
    result = project.run("--loopwatch-threshold=0.05")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*RuntimeError: no database",
            "*Captured loopwatch setup*",
            "loopwatch: 1 step held the event loop for >= 0.050s*",
            "*during setup of fixture 'broken'",
        ]
    )
