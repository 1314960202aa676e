"""The benchmark runner: instruction counts per step and the table that compares them."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "bench" / "run.py"


def load_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", RUNNER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


run = load_runner()


@pytest.fixture
def valgrind() -> str:
    """Path of valgrind (skips without it, fails under LOOPWATCH_REQUIRE_REAL=1)."""
    path = shutil.which("valgrind")
    if path is None:
        reason = "valgrind is not installed"
        if os.environ.get("LOOPWATCH_REQUIRE_REAL") == "1":
            pytest.fail(f"LOOPWATCH_REQUIRE_REAL=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return path


def test_steps_table_for_one_configuration_parses(valgrind: str) -> None:
    """`bench/run.py steps` on a tiny N measures loopwatch on asyncio and prints its row."""
    done = subprocess.run(
        [sys.executable, str(RUNNER), "steps", "--n", "200", "--only", "loopwatch asyncio"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "steps: instructions per step (callgrind, N=200, N=0 subtracted)"
    header = next(line for line in lines if line.startswith("configuration"))
    assert re.fullmatch(r"configuration\s+main/step\s+vs plain\s+vs aiodebug\s+all/step", header)
    rows = [line for line in lines if line.startswith("loopwatch asyncio")]
    assert len(rows) == 1
    match = re.fullmatch(r"loopwatch asyncio\s+([\d,]+)\s+-\s+-\s+([\d,]+)", rows[0])
    assert match is not None, rows[0]
    main_thread, all_threads = (int(group.replace(",", "")) for group in match.groups())
    # A step of the event loop is thousands of instructions; zero would mean N was ignored.
    assert main_thread > 1_000
    # All threads' figure is a difference of two runs too: other threads may do a little less
    # in the N run than in the N=0 run, so it is close to the main thread's, not above it.
    assert all_threads > 1_000
    target = (
        "target: loopwatch-hotpath adds at most 2,000 instructions per step over plain"
        " (main thread)"
    )
    assert target in lines
    assert re.fullmatch(r"\s+asyncio\s+-\s+not measured", lines[-2])


def test_table_compares_within_each_loop_and_judges_the_target() -> None:
    """Differences are taken within one loop; the hot path over plain by more than 2,000 fails."""
    suite = run.SUITES["steps"]
    main_thread = {
        "plain asyncio": 20_000.0,
        "aiodebug asyncio": 21_500.0,
        "loopwatch asyncio": 22_300.0,
        "loopwatch hot path asyncio": 21_900.0,
        "plain uvloop": 9_000.0,
        "aiodebug uvloop": 9_100.0,
        "loopwatch uvloop": 11_900.0,
        "loopwatch hot path uvloop": 11_500.0,
    }
    # All threads add the watchdog's polls: never what the target is judged on.
    measured = {name: run.Counts(count, count + 5_000) for name, count in main_thread.items()}
    rows, verdicts = run.compare(suite, measured)

    by_name = {row.config.name: row for row in rows}
    assert by_name["loopwatch asyncio"].differences == {"plain": 2_300.0, "aiodebug": 800.0}
    hot_path = by_name["loopwatch hot path uvloop"]
    assert hot_path.differences == {"plain": 2_500.0, "aiodebug": 2_400.0}
    assert [(v.group, v.added, v.passed) for v in verdicts] == [
        ("asyncio", 1_900.0, True),
        ("uvloop", 2_500.0, False),
    ]
    table = run.render(suite, 20_000, rows, verdicts)
    row = r"^loopwatch hot path asyncio\s+21,900\s+\+1,900\s+\+400\s+26,900$"
    assert re.search(row, table, re.MULTILINE)
    assert re.search(r"^\s+asyncio\s+\+1,900\s+PASS$", table, re.MULTILINE)
    assert re.search(r"^\s+uvloop\s+\+2,500\s+FAIL$", table, re.MULTILINE)


def test_callgrind_counts_are_read_from_its_summary_lines() -> None:
    """Totals come from callgrind's "Collected :" line, a thread's from its file's summary."""
    stderr = "==41== Callgrind, a call-graph generating cache profiler\n==41== \n"
    stderr += "==41== Events    : Ir\n==41== Collected : 139349694\n==41== \n"
    assert run.parse_collected(stderr) == 139_349_694
    thread_file = "version: 1\ncmd:  python x.py\npart: 1\nthread: 1\nsummary: 139782746\n"
    assert run.parse_thread_summary(thread_file) == 139_782_746
    with pytest.raises(run.BenchError):
        run.parse_collected("==41== ERROR SUMMARY: 0 errors\n")
    with pytest.raises(run.BenchError):
        run.parse_thread_summary("thread: 1\n")
