"""The regression budget: per test, the loop time its steps held and its worst step.

    >>> baseline = Baseline.load(Path("loopwatch-baseline.json"))
    >>> growth = baseline.compare(nodeid, Measurement(0.031, 0.012), Tolerance(0.25, 0.005))
    >>> baseline.record(nodeid, Measurement(0.031, 0.012)); baseline.save(path)

The file is meant to be committed: sorted keys, fixed rounding, one test per entry, a newline
at the end, so that an update shows as a small diff. A value may grow by the relative AND the
absolute tolerance before it counts as a regression: on a noisy machine small tests jitter by
a large fraction of almost nothing, large ones by a small fraction of a lot.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = 1
DECIMALS = 4  # 0.1 ms: finer digits are noise, and would churn the committed file

DEFAULT_RELATIVE = 0.25
DEFAULT_ABSOLUTE = 0.005


class BaselineError(ValueError):
    """The baseline file cannot be used (unreadable, not JSON, wrong shape)."""


@dataclass(frozen=True, slots=True)
class Measurement:
    """What one test's call held: total loop time of its steps, and its longest step."""

    loop_time: float
    worst_step: float

    def to_dict(self) -> dict[str, float]:
        return {
            "loop_time": round(self.loop_time, DECIMALS),
            "worst_step": round(self.worst_step, DECIMALS),
        }


@dataclass(frozen=True, slots=True)
class Tolerance:
    """Growth allowed before a value counts as a regression: both `relative` and `absolute`."""

    relative: float = DEFAULT_RELATIVE
    absolute: float = DEFAULT_ABSOLUTE

    def allowed(self, old: float) -> float:
        return max(old * self.relative, self.absolute)

    def describe(self) -> str:
        return f"{self.relative * 100:g}% and {self.absolute * 1000:g}ms"


@dataclass(frozen=True, slots=True)
class Growth:
    """One value of one test that grew beyond the tolerance."""

    what: str  # "loop time" or "worst step"
    old: float
    new: float
    allowed: float


class Baseline:
    """Measurements per test node id, as read from and written to the baseline file."""

    def __init__(self, tests: dict[str, Measurement] | None = None) -> None:
        self.tests: dict[str, Measurement] = dict(tests or {})

    @classmethod
    def load(cls, path: Path) -> Baseline:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise BaselineError(f"cannot read {path}: {exc.strerror or exc}") from exc
        except json.JSONDecodeError as exc:
            raise BaselineError(f"{path} is not JSON: {exc}") from exc
        return cls(_parse(data, path))

    def save(self, path: Path) -> None:
        data = {
            "loopwatch_baseline": FORMAT,
            "tests": {nodeid: m.to_dict() for nodeid, m in self.tests.items()},
        }
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        if path.parent != Path():
            path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)  # a run killed while writing leaves the old file intact

    def record(self, nodeid: str, measurement: Measurement) -> None:
        self.tests[nodeid] = measurement

    def compare(self, nodeid: str, new: Measurement, tolerance: Tolerance) -> list[Growth] | None:
        """What grew beyond the tolerance; None when the test has no entry yet."""
        old = self.tests.get(nodeid)
        if old is None:
            return None
        grown = []
        for what, before, after in (
            ("loop time", old.loop_time, new.loop_time),
            ("worst step", old.worst_step, new.worst_step),
        ):
            allowed = tolerance.allowed(before)
            # Compare at the file's precision: a value equal to its stored one did not grow.
            if round(after, DECIMALS) - before > allowed:
                grown.append(Growth(what, before, after, allowed))
        return grown


def _parse(data: Any, path: Path) -> dict[str, Measurement]:
    if not isinstance(data, dict) or data.get("loopwatch_baseline") != FORMAT:
        raise BaselineError(f"{path} is not a loopwatch baseline (format {FORMAT})")
    tests = data.get("tests")
    if not isinstance(tests, dict):
        raise BaselineError(f"{path}: 'tests' must be an object of test ids")
    parsed = {}
    for nodeid, entry in tests.items():
        try:
            loop_time, worst_step = entry["loop_time"], entry["worst_step"]
            values = (float(loop_time), float(worst_step))
        except (TypeError, KeyError, ValueError) as exc:
            raise BaselineError(
                f"{path}: entry {nodeid!r} needs numbers loop_time and worst_step"
            ) from exc
        if not all(math.isfinite(v) and v >= 0 for v in values):
            raise BaselineError(f"{path}: entry {nodeid!r} has a negative or infinite value")
        parsed[nodeid] = Measurement(*values)
    return parsed
