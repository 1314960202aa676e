"""Validating the numbers a user hands loopwatch, with errors that name the culprit."""

from __future__ import annotations

import math
from typing import Any

DEFAULT_THRESHOLD = 0.1
DEFAULT_BUFFER_SIZE = 1000


def validate_threshold(value: Any, name: str = "threshold") -> float:
    """A finite number of seconds > 0, else ValueError naming `name` and what was given."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(
            f"loopwatch: {name} must be a number of seconds > 0 (e.g. 0.05), got {value!r}"
        )
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(
            f"loopwatch: {name} must be a finite number of seconds > 0 (e.g. 0.05), got {value!r}"
        )
    return seconds


def validate_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"loopwatch: {name} must be a whole number > 0, got {value!r}")
    return value
