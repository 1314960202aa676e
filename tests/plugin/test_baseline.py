"""The regression budget: record each test's loop time and worst step, fail when they grow."""

from __future__ import annotations

import json

import pytest

from tests.plugin.conftest import Project

# Each async test holds the loop for about 1 ms in short steps, far under the threshold, so
# that on a loaded machine one preemption (a few ms) stays within the default 5 ms tolerance.
SUITE = """
import asyncio
import pytest
from helpers import busy


async def handler(extra):
    for _ in range(4):
        busy(0.0002)
        await asyncio.sleep(0)
    busy(extra)
    await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_steady():
    await handler(EXTRA)


@pytest.mark.asyncio
async def test_other():
    await handler(0)


def test_sync():
    pass
"""


def suite(extra: float) -> str:
    return SUITE.replace("EXTRA", repr(extra))


BASELINE = ("--loopwatch-threshold=0.5", "--loopwatch-baseline=budget/loopwatch.json")


def test_update_writes_a_stable_sorted_file(project: Project) -> None:
    """--loopwatch-baseline-update records loop time and worst step per async test, sorted."""
    project.tests(suite(0))
    result = project.run(*BASELINE, "--loopwatch-baseline-update")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*baseline written to *budget/loopwatch.json*"])
    path = project.pytester.path / "budget" / "loopwatch.json"
    text = path.read_text()
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"
    assert data["loopwatch_baseline"] == 1
    steady = data["tests"]["test_suite.py::test_steady"]
    assert set(steady) == {"loop_time", "worst_step"}
    assert 0.0007 <= steady["loop_time"] < 0.05
    assert 0.0002 <= steady["worst_step"] <= steady["loop_time"]
    assert data["tests"]["test_suite.py::test_sync"] == {"loop_time": 0.0, "worst_step": 0.0}


def test_unchanged_suite_passes_three_runs_and_slower_test_fails(project: Project) -> None:
    """Compare mode passes an unchanged suite run after run; a CPU loop added fails it."""
    # The tolerance is sized for a shared CI machine, where preemptions of the loop thread
    # were seen to add up to ~20 ms to a 1 ms test: that is what the tolerance is for.
    project.ini("loopwatch_tolerance_abs = 0.05")
    project.tests(suite(0))
    project.run(*BASELINE, "--loopwatch-baseline-update").assert_outcomes(passed=3)
    recorded = (project.pytester.path / "budget" / "loopwatch.json").read_text()
    for _ in range(3):
        result = project.run(*BASELINE)
        result.assert_outcomes(passed=3)
        result.stdout.fnmatch_lines(["*threshold 0.500s; 0 stalls in 0 of 3 tests; 0 over the*"])
    assert (project.pytester.path / "budget" / "loopwatch.json").read_text() == recorded

    project.tests(suite(0.2))  # still under the 0.5 s threshold: no stall
    # The longest step is located where it ended: the `await` right after the CPU loop.
    end_of_step = int(project.where("busy(extra)").split(":")[1]) + 1
    result = project.run(*BASELINE)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_steady _*",
            "loopwatch: loop time and worst step grew beyond the baseline in "
            "budget/loopwatch.json (tolerance 25% and 50ms)",
            "  loop time: *s -> 0.2*s (+*%; allowed +0.050s)",
            "  worst step: *s -> 0.2*s (+*%; allowed +0.050s)",
            f"  worst step ran in handler, up to test_suite.py:{end_of_step}: "
            "await asyncio.sleep(0)",
        ]
    )
    result.stdout.fnmatch_lines(["*1 over the baseline*"])


def test_tolerance_is_configurable(project: Project) -> None:
    """Growth that fails under the default tolerance passes a wider one (flag or ini)."""
    project.tests(suite(0))
    steady = (*BASELINE, "-k", "steady")
    project.run(*steady, "--loopwatch-baseline-update").assert_outcomes(passed=1, deselected=2)
    project.tests(suite(0.03))
    result = project.run(*steady)
    result.assert_outcomes(failed=1, deselected=2)
    result.stdout.fnmatch_lines(
        ["*(tolerance 25% and 5ms)", "  loop time: *(+*%; allowed +5.00ms)"]
    )
    project.run(*steady, "--loopwatch-tolerance-abs=0.1").assert_outcomes(passed=1, deselected=2)
    project.ini("loopwatch_tolerance_abs = 0.1")
    project.run(*steady).assert_outcomes(passed=1, deselected=2)
    project.ini("loopwatch_tolerance = 100000%")  # x1000: 0.2 ms may grow to 0.2 s
    project.run(*steady).assert_outcomes(passed=1, deselected=2)


def test_new_tests_pass_and_update_keeps_other_entries(project: Project) -> None:
    """A test missing from the baseline passes; a partial update keeps the other entries."""
    project.tests(suite(0))
    project.run(*BASELINE, "--loopwatch-baseline-update", "-k", "steady")
    result = project.run(*BASELINE, "--loopwatch-tolerance-abs=0.05")  # shared machine
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*2 not in the baseline*"])
    project.run(*BASELINE, "--loopwatch-baseline-update", "-k", "other")
    path = project.pytester.path / "budget" / "loopwatch.json"
    assert sorted(json.loads(path.read_text())["tests"]) == [
        "test_suite.py::test_other",
        "test_suite.py::test_steady",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "*budget/loopwatch.json does not exist: create it with --loopwatch-baseline-update"),
        ("{not json", "*--loopwatch-baseline: *budget/loopwatch.json is not JSON*"),
        ('{"tests": {}}', "*is not a loopwatch baseline*"),
    ],
)
def test_unusable_baseline_is_a_usage_error(
    project: Project, content: str | None, message: str
) -> None:
    """Compare mode without a readable baseline file stops the run and says how to make one."""
    project.tests(suite(0))
    if content is not None:
        (project.pytester.path / "budget").mkdir()
        (project.pytester.path / "budget" / "loopwatch.json").write_text(content)
    result = project.run(*BASELINE)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
