"""The `LOOPWATCH` Django setting: one dict merged over defaults, validated, cached.

    # settings.py
    LOOPWATCH = {"THRESHOLD": 0.05, "TOKEN": "a-long-random-string"}

`get_config()` is cached and cleared on `setting_changed`, so `override_settings` works.
Wrong keys and wrong types are reported by the system check `loopwatch.E001`, naming the key
and what was expected; `get_config()` itself never raises for them (it falls back to the
default for that key) so a typo in a development setting cannot take the site down.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

from loopwatch.config import DEFAULT_BUFFER_SIZE, DEFAULT_THRESHOLD


@dataclass(frozen=True)
class Setting:
    """One key of `LOOPWATCH`: its default, accepted types and a description for errors."""

    default: Any
    expected: str
    check: Any  # Callable[[Any], bool]


def _is_positive_number(value: Any) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and value > 0
    )


def _is_positive_int(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and value > 0


def _is_port(value: Any) -> bool:
    return value is None or (
        not isinstance(value, bool) and isinstance(value, int) and 0 <= value <= 65535
    )


SETTINGS: dict[str, Setting] = {
    "ENABLED": Setting(True, "a bool", lambda v: isinstance(v, bool)),
    "THRESHOLD": Setting(DEFAULT_THRESHOLD, "a number of seconds > 0", _is_positive_number),
    "BUFFER_SIZE": Setting(DEFAULT_BUFFER_SIZE, "a whole number > 0", _is_positive_int),
    "TOKEN": Setting(
        None,
        "a string of at least 16 characters, or None",
        lambda v: v is None or (isinstance(v, str) and len(v) >= 16),
    ),
    "OPEN_IN_DEBUG": Setting(True, "a bool", lambda v: isinstance(v, bool)),
    "REPORT_ORM": Setting(True, "a bool", lambda v: isinstance(v, bool)),
    "LOG": Setting(True, "a bool", lambda v: isinstance(v, bool)),
    "LOG_INTERVAL": Setting(60.0, "a number of seconds > 0", _is_positive_number),
    "METRICS_PORT": Setting(None, "a port number (0-65535) or None", _is_port),
    "METRICS_ADDRESS": Setting("127.0.0.1", "an IP address string", lambda v: isinstance(v, str)),
    # Coroutine origin tracking: the exact creating line of an unawaited coroutine, paid for
    # on every coroutine creation (docs/mistakes.md has the measured cost).
    "TRACK_UNAWAITED": Setting(False, "a bool", lambda v: isinstance(v, bool)),
}


@dataclass(frozen=True)
class Config:
    enabled: bool
    threshold: float
    buffer_size: int
    token: str | None
    open_in_debug: bool
    report_orm: bool
    log: bool
    log_interval: float
    metrics_port: int | None
    metrics_address: str
    track_unawaited: bool


def problems(raw: Any) -> list[tuple[str, str]]:
    """(key, message) for every unknown key and every value of the wrong type."""
    if raw is None:
        return []
    if not isinstance(raw, dict):
        return [("LOOPWATCH", f"LOOPWATCH must be a dict, got {type(raw).__name__}")]
    found = []
    for key, value in raw.items():
        setting = SETTINGS.get(key)
        if setting is None:
            known = ", ".join(sorted(SETTINGS))
            found.append((key, f"LOOPWATCH[{key!r}] is not a loopwatch setting (known: {known})"))
        elif not setting.check(value):
            found.append((key, f"LOOPWATCH[{key!r}] must be {setting.expected}, got {value!r}"))
    return found


@functools.lru_cache(maxsize=1)
def get_config() -> Config:
    from django.conf import settings

    raw = getattr(settings, "LOOPWATCH", None)
    raw = raw if isinstance(raw, dict) else {}
    bad = {key for key, _ in problems(raw)}
    values = {
        key.lower(): (raw[key] if key in raw and key not in bad else setting.default)
        for key, setting in SETTINGS.items()
    }
    values["threshold"] = float(values["threshold"])
    values["log_interval"] = float(values["log_interval"])
    return Config(**values)


def clear_cache(*, setting: str = "", **kwargs: Any) -> None:
    """`setting_changed` receiver: LOOPWATCH, DEBUG and INTERNAL_IPS are read through here."""
    if setting in ("LOOPWATCH", ""):
        get_config.cache_clear()
