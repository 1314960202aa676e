"""What the pytest plugin's options, ini values and marker mean, checked before any test runs.

    >>> settings = read_settings(config)      # None: loopwatch is off for this run
    >>> marker_threshold(item, settings.threshold)

A bad command-line value is an argparse error naming the option; a bad ini value a usage
error naming the ini option; a bad marker an error of that test only.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from loopwatch.baseline import DEFAULT_ABSOLUTE, DEFAULT_RELATIVE, Tolerance

MARKER = (
    "loopwatch(threshold=SECONDS): this test's own stall threshold; threshold=None turns "
    "loopwatch off for it"
)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("loopwatch", "loopwatch: fail tests that block the event loop")
    group.addoption(
        "--loopwatch-threshold",
        dest="loopwatch_threshold",
        metavar="SECONDS",
        type=_cli(_positive_seconds),
        default=None,
        help="fail a test during which one loop step held the event loop for at least "
        "SECONDS (turns loopwatch on; overrides ini loopwatch_threshold)",
    )
    group.addoption(
        "--loopwatch-report",
        dest="loopwatch_report",
        metavar="PATH",
        default=None,
        help="write a JSON summary per test (stalls, worst, blocking lines) to PATH",
    )
    group.addoption(
        "--loopwatch-baseline",
        dest="loopwatch_baseline",
        metavar="FILE",
        default=None,
        help="fail a test whose loop time or worst step grew beyond the tolerance over FILE",
    )
    group.addoption(
        "--loopwatch-baseline-update",
        dest="loopwatch_baseline_update",
        action="store_true",
        default=False,
        help="record each test's loop time and worst step into the --loopwatch-baseline FILE "
        "instead of comparing",
    )
    group.addoption(
        "--loopwatch-tolerance",
        dest="loopwatch_tolerance",
        metavar="PERCENT",
        type=_cli(_percent),
        default=None,
        # argparse expands help with %-formatting: a literal percent sign is doubled.
        help="relative growth allowed over the baseline, e.g. 25%% "
        f"(default {DEFAULT_RELATIVE * 100:g}%%)",
    )
    group.addoption(
        "--loopwatch-tolerance-abs",
        dest="loopwatch_tolerance_abs",
        metavar="SECONDS",
        type=_cli(_non_negative_seconds),
        default=None,
        help="absolute growth allowed over the baseline, in seconds "
        f"(default {DEFAULT_ABSOLUTE}); a value must exceed both tolerances to fail",
    )
    parser.addini(
        "loopwatch_threshold",
        "stall threshold in seconds (turns loopwatch on; --loopwatch-threshold wins)",
        default=None,
    )
    parser.addini("loopwatch_tolerance", "baseline: relative growth allowed", default=None)
    parser.addini("loopwatch_tolerance_abs", "baseline: absolute growth allowed", default=None)


def _cli(parse: Callable[[str], float]) -> Callable[[str], float]:
    """argparse turns ArgumentTypeError into a usage error that names the option."""

    def convert(text: str) -> float:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__
    return convert


def _number(text: str, unit: str) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        raise ValueError(f"expected a number of {unit}, got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number of {unit}, got {text!r}")
    return value


def _positive_seconds(text: str) -> float:
    value = _number(text, "seconds")
    if value <= 0:
        raise ValueError(f"expected a number of seconds > 0 (e.g. 0.05), got {text!r}")
    return value


def _non_negative_seconds(text: str) -> float:
    value = _number(text, "seconds")
    if value < 0:
        raise ValueError(f"expected a number of seconds >= 0, got {text!r}")
    return value


def _percent(text: str) -> float:
    """'25%' or '25' -> 0.25."""
    value = _number(str(text).strip().removesuffix("%"), "percent")
    if value < 0:
        raise ValueError(f"expected a percentage >= 0 (e.g. 25%), got {text!r}")
    return value / 100


@dataclass(frozen=True, slots=True)
class Settings:
    threshold: float
    report: Path | None
    baseline: Path | None
    update_baseline: bool
    tolerance: Tolerance


def _setting(config: pytest.Config, name: str, parse: Callable[[str], float]) -> float | None:
    """The command line's value, else the ini file's; a bad ini value is a usage error."""
    value = config.getoption(name)
    if value is not None:
        return float(value)
    text = config.getini(name)
    if text is None or str(text).strip() == "":
        return None
    try:
        return parse(str(text))
    except ValueError as exc:
        raise pytest.UsageError(f"ini option {name}: {exc}") from None


def read_settings(config: pytest.Config) -> Settings | None:
    """None when loopwatch is off for this run (no threshold anywhere)."""
    threshold = _setting(config, "loopwatch_threshold", _positive_seconds)
    report = config.getoption("loopwatch_report")
    baseline = config.getoption("loopwatch_baseline")
    update = bool(config.getoption("loopwatch_baseline_update"))
    if update and not baseline:
        raise pytest.UsageError("--loopwatch-baseline-update needs --loopwatch-baseline=FILE")
    if threshold is None:
        if report or baseline:
            option = "--loopwatch-report" if report else "--loopwatch-baseline"
            raise pytest.UsageError(
                f"{option} needs a threshold: --loopwatch-threshold=SECONDS "
                "or ini loopwatch_threshold"
            )
        return None
    relative = _setting(config, "loopwatch_tolerance", _percent)
    absolute = _setting(config, "loopwatch_tolerance_abs", _non_negative_seconds)
    root = config.invocation_params.dir
    return Settings(
        threshold=threshold,
        report=root / report if report else None,
        baseline=root / baseline if baseline else None,
        update_baseline=update,
        tolerance=Tolerance(
            DEFAULT_RELATIVE if relative is None else relative,
            DEFAULT_ABSOLUTE if absolute is None else absolute,
        ),
    )


def marker_threshold(item: pytest.Item, default: float) -> float | None:
    """The test's threshold: its closest marker's, else `default`; None when it opted out."""
    marker = item.get_closest_marker("loopwatch")
    if marker is None:
        return default
    if marker.args or set(marker.kwargs) - {"threshold"}:
        raise ValueError(
            "loopwatch marker: use @pytest.mark.loopwatch(threshold=SECONDS) "
            "or threshold=None to turn it off for this test"
        )
    if "threshold" not in marker.kwargs:
        return default
    value = marker.kwargs["threshold"]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"loopwatch marker: threshold must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"loopwatch marker: threshold must be > 0 seconds, got {value!r}")
    return float(value)
