"""What the pytest plugin found in a run, in one place, whichever process ran the tests.

    results = RunResults.of(watches, measured, over_baseline, unknown_to_baseline)
    config.workeroutput[WORKER_OUTPUT_KEY] = results.to_json()      # a pytest-xdist worker
    merged.merge(RunResults.from_json(node.workeroutput[WORKER_OUTPUT_KEY]))  # its controller

Under pytest-xdist each worker runs (and fails) its share of the tests itself; what it found
goes to the controller as JSON at the end of the worker's session, and only the controller
writes the report and the baseline, once, with every worker's tests in them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loopwatch.baseline import Measurement
from loopwatch.testwatch import TestWatch, report_entry

WORKER_OUTPUT_KEY = "loopwatch"


@dataclass
class RunResults:
    """Per test id: the report entry; and the baseline's part of the run."""

    tests: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Measured for the baseline (update mode): written to the file at the end of the run.
    measured: dict[str, Measurement] = field(default_factory=dict)
    over_baseline: list[str] = field(default_factory=list)
    unknown_to_baseline: list[str] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        watches: dict[str, TestWatch],
        measured: dict[str, Measurement],
        over_baseline: list[str],
        unknown_to_baseline: list[str],
    ) -> RunResults:
        return cls(
            tests={nodeid: report_entry(watch) for nodeid, watch in watches.items()},
            measured=dict(measured),
            over_baseline=list(over_baseline),
            unknown_to_baseline=list(unknown_to_baseline),
        )

    def merge(self, other: RunResults) -> None:
        self.tests.update(other.tests)
        self.measured.update(other.measured)
        self.over_baseline.extend(other.over_baseline)
        self.unknown_to_baseline.extend(other.unknown_to_baseline)

    def stall_counts(self) -> tuple[int, int]:
        """Stalls in tests that have a threshold, and how many such tests had any."""
        stalled = [t for t in self.tests.values() if t["threshold"] is not None and t["stalls"]]
        return sum(t["stalls"] for t in stalled), len(stalled)

    def to_json(self) -> dict[str, Any]:
        return {
            "tests": self.tests,
            "measured": {nodeid: m.to_dict() for nodeid, m in self.measured.items()},
            "over_baseline": self.over_baseline,
            "unknown_to_baseline": self.unknown_to_baseline,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunResults:
        return cls(
            tests=dict(data["tests"]),
            measured={
                nodeid: Measurement(m["loop_time"], m["worst_step"])
                for nodeid, m in data["measured"].items()
            },
            over_baseline=list(data["over_baseline"]),
            unknown_to_baseline=list(data["unknown_to_baseline"]),
        )
