"""How the plugin is switched on, what bad values do, and that it leaves nothing behind."""

from __future__ import annotations

import sys

import pytest

from tests.plugin.conftest import Project

BLOCKS = """
import time
import sys

import pytest

@pytest.mark.asyncio
async def test_blocks():
    time.sleep(0.1)
"""

# Written by a conftest hook that runs after every other unconfigure: what is left then.
LEAK_CHECK = """
import asyncio
import gc
import threading

import sys

import pytest

STDLIB_HANDLE_RUN = asyncio.events.Handle.__dict__["_run"]


def leaks():
    found = []
    if asyncio.events.Handle.__dict__["_run"] is not STDLIB_HANDLE_RUN:
        found.append("Handle._run patched")
    found += [repr(cb) for cb in gc.callbacks if "loopwatch" in str(getattr(cb, "__module__", ""))]
    found += [t.name for t in threading.enumerate() if t.name.startswith("loopwatch")]
    import loopwatch
    if loopwatch.is_installed():
        found.append("still installed")
    return found


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    with open("leaks.txt", "w") as out:
        out.write(repr(leaks()))
"""


def test_without_threshold_nothing_is_installed(project: Project) -> None:
    """No flag and no ini value: the blocking test passes and loopwatch never installs."""
    project.tests(
        BLOCKS
        + """
import asyncio
import loopwatch

@pytest.mark.asyncio
async def test_not_installed():
    assert not loopwatch.is_installed()
    assert getattr(asyncio.events.Handle._run, "__loopwatch__", False) is False
"""
    )
    result = project.run()
    result.assert_outcomes(passed=2)
    result.stdout.no_fnmatch_line("*loopwatch*threshold*")


def test_ini_option_behaves_like_the_flag_and_the_flag_wins(project: Project) -> None:
    """ini loopwatch_threshold turns it on; --loopwatch-threshold overrides it either way."""
    project.tests(BLOCKS)
    project.ini("loopwatch_threshold = 0.05")
    result = project.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["loopwatch: 1 step held the event loop for >= 0.050s*"])
    project.run("--loopwatch-threshold=5").assert_outcomes(passed=1)
    project.ini("loopwatch_threshold = 5")
    project.run().assert_outcomes(passed=1)
    result = project.run("--loopwatch-threshold=0.05")
    result.assert_outcomes(failed=1)


@pytest.mark.parametrize("value", ["abc", "-0.1", "0", "nan"])
def test_bad_threshold_is_a_usage_error_naming_the_option(project: Project, value: str) -> None:
    """A threshold that is not a positive number stops the run before any test."""
    project.tests(BLOCKS)
    result = project.run(f"--loopwatch-threshold={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*argument --loopwatch-threshold: expected *seconds*"])
    result.stdout.no_fnmatch_line("*collected*")


def test_bad_ini_threshold_is_a_usage_error_naming_the_option(project: Project) -> None:
    """The same check applies to the ini option, and the message names it."""
    project.tests(BLOCKS)
    project.ini("loopwatch_threshold = -1")
    result = project.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini option loopwatch_threshold: expected *seconds > 0*"])


def test_options_that_need_a_threshold_say_so(project: Project) -> None:
    """--loopwatch-report or --loopwatch-baseline without a threshold is a usage error."""
    project.tests(BLOCKS)
    for option in ("--loopwatch-report=r.json", "--loopwatch-baseline=b.json"):
        result = project.run(option)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([f"*{option.split('=')[0]} needs a threshold*"])
    result = project.run("--loopwatch-threshold=1", "--loopwatch-baseline-update")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--loopwatch-baseline-update needs --loopwatch-baseline=FILE*"])


def test_nothing_outlives_the_session(project: Project) -> None:
    """After a run (with a test that uninstalls loopwatch itself) no patch or thread is left."""
    project.pytester.makeconftest(LEAK_CHECK)
    project.tests(
        BLOCKS
        + """
import asyncio
import loopwatch

def test_user_uninstalls():
    loopwatch.uninstall()

@pytest.mark.asyncio
async def test_still_watched_after_that():
    time.sleep(0.1)

def test_own_loop():
    asyncio.run(asyncio.sleep(0))
"""
    )
    result = project.run("--loopwatch-threshold=0.05")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*_ test_still_watched_after_that _*"])
    assert (project.pytester.path / "leaks.txt").read_text() == "[]"


def test_help_lists_the_options(project: Project) -> None:
    """pytest --help shows every loopwatch option with its meaning."""
    result = project.run("--help")
    assert result.ret == pytest.ExitCode.OK
    for option in (
        "--loopwatch-threshold=SECONDS",
        "--loopwatch-report=PATH",
        "--loopwatch-baseline=FILE",
        "--loopwatch-baseline-update",
        "--loopwatch-tolerance=PERCENT",
        "--loopwatch-tolerance-abs=SECONDS",
    ):
        result.stdout.fnmatch_lines([f"  {option}*"])
    result.stdout.fnmatch_lines(["  loopwatch_threshold (string):*"])


def test_importing_the_plugin_has_no_side_effects(pytester: pytest.Pytester) -> None:
    """Importing the plugin module patches nothing, starts no thread and imports no Django."""
    pytester.makepyfile(
        check="""
        import asyncio
        import sys
        import threading

        stdlib_run = asyncio.events.Handle._run
        import loopwatch.pytest_plugin

        assert asyncio.events.Handle._run is stdlib_run
        assert threading.active_count() == 1, threading.enumerate()
        assert not [name for name in sys.modules if name.split(".")[0] == "django"]
        print("clean")
        """
    )
    result = pytester.run(sys.executable, "check.py", timeout=60)
    assert result.ret == 0, result.stderr.str()
    assert result.outlines == ["clean"]


def test_program_installing_its_own_threshold_does_not_change_the_run(project: Project) -> None:
    """A test whose code installs loopwatch with another threshold leaves the run's in force."""
    project.tests(
        """
import loopwatch

def test_installs_with_its_own_threshold():
    loopwatch.install(threshold=5)
"""
        + BLOCKS
    )
    result = project.run("--loopwatch-threshold=0.05")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*_ test_blocks _*"])
