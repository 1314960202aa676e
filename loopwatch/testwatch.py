"""What the pytest plugin keeps for one test: the records seen in each phase, the text of the
failure they cause, and the JSON report of all tests.

    >>> watch = TestWatch("tests/test_views.py::test_list", threshold=0.05)
    >>> watch.phase = "call"; watch.add(record)
    >>> print(failure_text(watch.take_unreported(), 0.05, verbose=False))
    loopwatch: 1 step held the event loop for >= 0.050s (worst 0.101s; add -v for stacks)
      0.101s [io] in view shop.views.SlowView (GET /slow/), during the test
        shop/views.py:12 in get: time.sleep(0.1)

This module knows nothing of pytest, so it can be read (and tested) on its own.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopwatch.baseline import Growth, Tolerance
from loopwatch.context import NO_REQUEST
from loopwatch.records import CodeLine, Record, StallRecord


@dataclass(frozen=True, slots=True)
class SeenStall:
    """A stall and the part of the test it happened in ("call", "setup of fixture 'db'"...)."""

    record: StallRecord
    phase: str


class TestWatch:
    """The stalls (and other records) seen while one test and its fixtures ran.

    This is what the `loopwatch` fixture returns: `stalls` and `records` grow while the test
    runs; `threshold` is the test's own (None when it opted out, or loopwatch is off).
    """

    __test__ = False  # not a test class, whatever its name says

    def __init__(
        self, nodeid: str, threshold: float | None, *, seen_from: float | None = None
    ) -> None:
        self.nodeid = nodeid
        self.threshold = threshold
        # Detection runs at the smallest threshold of the whole run; this test keeps only the
        # stalls that reach its own (or the run's, when it opted out).
        self.seen_from = seen_from if seen_from is not None else threshold
        self.active = self.seen_from is not None
        self.phase = "setup"
        self.records: list[Record] = []
        self._seen: list[SeenStall] = []
        self._reported = 0
        # Records arrive from the loop's thread, and from live servers' threads.
        self._lock = threading.Lock()
        # Filled in by the plugin when the test's steps were tallied (baseline mode).
        self.loop_time: float | None = None
        self.worst_step: float | None = None
        self.worst_step_line: CodeLine | None = None

    @property
    def stalls(self) -> list[StallRecord]:
        """Every stall seen so far, oldest first, whatever the phase."""
        with self._lock:
            return [seen.record for seen in self._seen]

    @property
    def seen(self) -> list[SeenStall]:
        with self._lock:
            return list(self._seen)

    def add(self, record: Record) -> None:
        if isinstance(record, StallRecord) and (
            self.seen_from is None or record.duration < self.seen_from
        ):
            return
        with self._lock:
            self.records.append(record)
            if isinstance(record, StallRecord):
                self._seen.append(SeenStall(record, self.phase))

    def relabel_since(self, mark: int, phase: str) -> None:
        """Stalls from index `mark` on happened in `phase` (known only once it has ended)."""
        with self._lock:
            for index in range(mark, len(self._seen)):
                self._seen[index] = SeenStall(self._seen[index].record, phase)

    def mark(self) -> int:
        with self._lock:
            return len(self._seen)

    def take_unreported(self) -> list[SeenStall]:
        """Stalls not yet shown in any report; each is reported once (setup ones with the call)."""
        with self._lock:
            fresh = self._seen[self._reported :]
            self._reported = len(self._seen)
        return fresh

    def __repr__(self) -> str:
        return f"<TestWatch {self.nodeid} threshold={self.threshold} stalls={len(self._seen)}>"


def seconds(value: float) -> str:
    """Durations as people read them: 0.101s, or 4.20ms below a hundredth of a second."""
    return f"{value:.3f}s" if value >= 0.01 else f"{value * 1000:.2f}ms"


def failure_text(stalls: list[SeenStall], threshold: float, *, verbose: bool) -> str:
    """One line saying how many, how bad and against what; then one entry per stall."""
    worst = max(seen.record.duration for seen in stalls)
    count = len(stalls)
    noun = "step" if count == 1 else "steps"
    hint = "" if verbose else "; add -v for stacks"
    lines = [
        f"loopwatch: {count} {noun} held the event loop for >= {seconds(threshold)} "
        f"(worst {seconds(worst)}{hint})"
    ]
    for seen in stalls:
        lines.extend(_describe_stall(seen, verbose=verbose))
    return "\n".join(lines)


def _describe_stall(seen: SeenStall, *, verbose: bool) -> list[str]:
    record = seen.record
    where = f"in view {record.view}" if record.view != NO_REQUEST else "outside any request"
    if record.method and record.path:
        where += f" ({record.method} {record.path})"
    phase = "during the test" if seen.phase == "call" else f"during {seen.phase}"
    lines = [f"  {seconds(record.duration)} [{record.cause}] {where}, {phase}"]
    if record.blocking_line is not None:
        lines.append(f"    {_frame(record.blocking_line)}")
    elif record.held_by is not None:
        culprit = record.held_by.blocking_line
        at = f" at {_frame(culprit)}" if culprit is not None else ""
        lines.append(f"    waited for the GIL held by thread {record.held_by.thread}{at}")
    else:
        lines.append("    (no line of your code was on the stack)")
    if verbose and record.stack:
        lines.append("    stack (most recent call last):")
        lines.extend(f"      {_frame(frame)}" for frame in record.stack)
    return lines


def _frame(line: CodeLine) -> str:
    return f"{line.where()} in {line.function}: {line.code}"


def growth_text(grown: list[Growth], baseline: str, tolerance: Tolerance, watch: TestWatch) -> str:
    """What grew beyond the baseline, by how much, and where the longest step ended."""
    lines = [
        f"loopwatch: {' and '.join(g.what for g in grown)} grew beyond the baseline "
        f"in {baseline} (tolerance {tolerance.describe()})"
    ]
    for growth in grown:
        percent = f"{(growth.new / growth.old - 1) * 100:+.0f}%" if growth.old else "new"
        lines.append(
            f"  {growth.what}: {seconds(growth.old)} -> {seconds(growth.new)} "
            f"({percent}; allowed +{seconds(growth.allowed)})"
        )
    line = watch.worst_step_line
    if line is not None:
        lines.append(f"  worst step ran in {line.function}, up to {line.where()}: {line.code}")
    return "\n".join(lines)


_NO_LINE = {"file": None, "line": None, "function": None, "code": None}


def report_entry(watch: TestWatch) -> dict[str, Any]:
    """One test's part of the CI report: stall count, worst duration and blocking lines."""
    seen = watch.seen
    return {
        "threshold": watch.threshold,
        "stalls": len(seen),
        "worst": round(max((s.record.duration for s in seen), default=0.0), 6),
        "loop_time": _rounded(watch.loop_time),
        "worst_step": _rounded(watch.worst_step),
        "blocking_lines": [
            {
                **(s.record.blocking_line.to_dict() if s.record.blocking_line else _NO_LINE),
                "view": s.record.view,
                "duration": round(s.record.duration, 6),
                "cause": s.record.cause,
                "phase": s.phase,
            }
            for s in seen
        ],
    }


def write_report(path: Path, threshold: float, tests: dict[str, dict[str, Any]]) -> None:
    """The CI artifact: `report_entry` of every test, by test id."""
    text = json.dumps({"threshold": threshold, "tests": tests}, indent=2, sort_keys=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
