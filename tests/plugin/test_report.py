"""--loopwatch-report writes a JSON summary per test for CI artifacts."""

from __future__ import annotations

import json

from tests.plugin.conftest import Project


def test_report_lists_every_test_with_its_stalls(project: Project) -> None:
    """Each test appears with its threshold, stall count, worst duration and blocking lines."""
    project.tests(
        """
        import asyncio
        import time
        import pytest
        import pytest_asyncio

        @pytest_asyncio.fixture
        async def slow_fixture():
            time.sleep(0.07)
            yield

        @pytest.mark.asyncio
        async def test_two_stalls(slow_fixture):
            time.sleep(0.12)
            await asyncio.sleep(0)

        @pytest.mark.asyncio
        async def test_clean():
            await asyncio.sleep(0.01)

        @pytest.mark.loopwatch(threshold=None)
        @pytest.mark.asyncio
        async def test_opted_out():
            time.sleep(0.06)
        """
    )
    result = project.run("--loopwatch-threshold=0.05", "--loopwatch-report=out/loopwatch.json")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*report written to *out/loopwatch.json"])
    report = json.loads((project.pytester.path / "out" / "loopwatch.json").read_text())
    assert report["threshold"] == 0.05
    tests = report["tests"]
    assert sorted(tests) == [
        "test_suite.py::test_clean",
        "test_suite.py::test_opted_out",
        "test_suite.py::test_two_stalls",
    ]
    assert tests["test_suite.py::test_clean"]["stalls"] == 0
    assert tests["test_suite.py::test_clean"]["blocking_lines"] == []

    stalled = tests["test_suite.py::test_two_stalls"]
    assert stalled["threshold"] == 0.05
    assert stalled["stalls"] == 2
    assert stalled["worst"] >= 0.12
    fixture_line, test_line = stalled["blocking_lines"]
    assert fixture_line["phase"] == "setup of fixture 'slow_fixture'"
    assert fixture_line["code"] == "time.sleep(0.07)"
    assert f"{fixture_line['file']}:{fixture_line['line']}" == project.where("time.sleep(0.07)")
    assert test_line["phase"] == "call"
    assert test_line["code"] == "time.sleep(0.12)"
    assert test_line["function"] == "test_two_stalls"
    assert test_line["view"] == "<none>"
    assert test_line["duration"] >= 0.12
    assert test_line["cause"] in {"io", "unknown"}

    # An opted-out test is listed with no threshold; what it saw is still there.
    opted_out = tests["test_suite.py::test_opted_out"]
    assert opted_out["threshold"] is None
    assert opted_out["stalls"] == 1
