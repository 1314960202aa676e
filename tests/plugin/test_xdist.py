"""Under pytest-xdist: each worker fails its own stalling tests; the controller alone writes
the report and the baseline, with every worker's tests in them."""

from __future__ import annotations

import json
import textwrap

from tests.plugin.conftest import Project

# Two files, so that `--dist=loadfile` gives each of the two workers one of them. Each test
# notes which worker ran it, to show that both did.
FILE = """
import asyncio
import os
import time
from pathlib import Path

import pytest


def ran_on():
    with Path("workers.txt").open("a") as out:
        out.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")


@pytest.mark.asyncio
async def test_stalls():
    ran_on()
    time.sleep(0.12)
    await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_clean():
    ran_on()
    await asyncio.sleep(0.01)
"""

FILES = ("test_first", "test_second")
TESTS = sorted(f"{name}.py::{test}" for name in FILES for test in ("test_clean", "test_stalls"))
WORKERS = ("-n", "2", "--dist=loadfile")


def two_files(project: Project) -> None:
    for name in FILES:
        project.tests(FILE, name=name)


def workers_used(project: Project) -> set[str]:
    return set((project.pytester.path / "workers.txt").read_text().split())


def test_each_worker_fails_its_stalls_and_one_report_holds_all_tests(project: Project) -> None:
    """Stalling tests fail on whichever worker ran them; the report and summary count all."""
    two_files(project)
    result = project.run(
        *WORKERS, "--loopwatch-threshold=0.05", "--loopwatch-report=out/loopwatch.json"
    )
    result.assert_outcomes(passed=2, failed=2)
    assert workers_used(project) == {"gw0", "gw1"}
    result.stdout.fnmatch_lines(
        [
            "*loopwatch: 1 step held the event loop for >= 0.050s*",
            "*time.sleep(0.12)*",
            "*threshold 0.050s; 2 stalls in 2 of 4 tests; report written to *out/loopwatch.json",
        ]
    )
    report = json.loads((project.pytester.path / "out" / "loopwatch.json").read_text())
    assert sorted(report["tests"]) == TESTS
    for nodeid, entry in report["tests"].items():
        expected = 1 if nodeid.endswith("test_stalls") else 0
        assert entry["stalls"] == expected, nodeid
        assert [line["code"] for line in entry["blocking_lines"]] == ["time.sleep(0.12)"] * expected


def test_baseline_update_records_every_workers_tests(project: Project) -> None:
    """An update under xdist writes one baseline with the tests of both workers."""
    two_files(project)
    baseline = project.pytester.path / "loopwatch-baseline.json"
    # Threshold above the stall: these tests pass, and all four are measured.
    options = ("--loopwatch-threshold=0.5", f"--loopwatch-baseline={baseline}")
    result = project.run(*WORKERS, *options, "--loopwatch-baseline-update")
    result.assert_outcomes(passed=4)
    assert workers_used(project) == {"gw0", "gw1"}
    recorded = json.loads(baseline.read_text())["tests"]
    assert sorted(recorded) == TESTS
    assert all(recorded[t]["worst_step"] >= 0.12 for t in TESTS if t.endswith("test_stalls"))

    # Compare mode: the same suite is within its baseline; a test grown past it fails.
    result = project.run(*WORKERS, *options)
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*4 tests; 0 over the baseline"])
    project.tests(
        textwrap.dedent(FILE).replace("time.sleep(0.12)", "time.sleep(0.3)"), name="test_first"
    )
    result = project.run(*WORKERS, *options)
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["*worst step grew beyond the baseline*", "*1 over the baseline*"])
