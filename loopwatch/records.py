"""What loopwatch records: one object per blocking event or flagged call.

    >>> from loopwatch import recent_stalls
    >>> [r.to_dict() for r in recent_stalls() if r.kind == "stall"]

Every record serialises to the `stalls.json` shape fixed in DESIGN.md.
"""

from __future__ import annotations

import datetime as _dt
import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

RecordKind = Literal["stall", "sync_orm", "unawaited", "lost_exception"]
Cause = Literal["io", "cpu", "gil", "gc", "unknown"]

_ids = itertools.count(1)


def next_record_id() -> int:
    """Process-unique, increasing id: links a metric exemplar to its record on the page."""
    return next(_ids)


@dataclass(frozen=True, slots=True)
class CodeLine:
    """One frame of a stack: where, and the source text of that line."""

    file: str
    line: int
    function: str
    code: str

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "function": self.function, "code": self.code}

    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class HeldBy:
    """The thread that held the GIL while the loop thread waited for it."""

    thread: str
    blocking_line: CodeLine | None

    def to_dict(self) -> dict[str, Any]:
        line = self.blocking_line.to_dict() if self.blocking_line else None
        return {"thread": self.thread, "blocking_line": line}


def _utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _iso(at: _dt.datetime) -> str:
    return at.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(slots=True, kw_only=True)
class Record:
    """Fields every kind shares; `kind` tells the kinds apart."""

    kind: RecordKind
    view: str
    method: str | None = None
    path: str | None = None
    blocking_line: CodeLine | None = None
    stack: tuple[CodeLine, ...] = ()
    at: _dt.datetime = field(default_factory=_utc_now)
    id: int = field(default_factory=next_record_id)
    # `RequestState.id` of the request being served, None outside any request: lets the
    # debug toolbar panel (and a reader of stalls.json) pick out one request's records.
    request_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "view": self.view,
            "method": self.method,
            "path": self.path,
            "at": _iso(self.at),
            "blocking_line": self.blocking_line.to_dict() if self.blocking_line else None,
            "stack": [frame.to_dict() for frame in self.stack],
        }
        data.update(self._extra_fields())
        return data

    def _extra_fields(self) -> dict[str, Any]:
        return {}

    def group_key(self) -> tuple[str, str, str, int]:
        """Records with the same kind, view and blocking line are one problem on the page."""
        line = self.blocking_line
        return (self.kind, self.view, line.file if line else "", line.line if line else 0)


@dataclass(slots=True, kw_only=True)
class StallRecord(Record):
    """A step that held the event loop for at least the threshold."""

    kind: RecordKind = "stall"
    duration: float = 0.0
    cause: Cause = "unknown"
    delayed_requests: int = 0
    held_by: HeldBy | None = None
    # How the stall was seen: "step" (timed loop step) or "lag" (heartbeat, for callbacks
    # that cannot be timed directly, e.g. bare callbacks under uvloop).
    source: str = "step"

    def _extra_fields(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "duration": round(self.duration, 6),
            "cause": self.cause,
            "delayed_requests": self.delayed_requests,
            "source": self.source,
        }
        if self.held_by is not None:
            data["held_by"] = self.held_by.to_dict()
        return data


@dataclass(slots=True, kw_only=True)
class SyncOrmRecord(Record):
    """A database call made on the event-loop thread (SQL never carries parameter values)."""

    kind: RecordKind = "sync_orm"
    outcome: Literal["raised", "allowed"] = "raised"
    sql: str | None = None
    duration: float | None = None

    def _extra_fields(self) -> dict[str, Any]:
        duration = None if self.duration is None else round(self.duration, 6)
        return {"outcome": self.outcome, "sql": self.sql, "duration": duration}


@dataclass(slots=True, kw_only=True)
class UnawaitedRecord(Record):
    """A coroutine created while serving a request and never awaited."""

    kind: RecordKind = "unawaited"
    coroutine: str = ""

    def _extra_fields(self) -> dict[str, Any]:
        return {"coroutine": self.coroutine}


@dataclass(slots=True, kw_only=True)
class LostExceptionRecord(Record):
    """A task whose exception nobody retrieved."""

    kind: RecordKind = "lost_exception"
    exception: str = ""

    def _extra_fields(self) -> dict[str, Any]:
        return {"exception": self.exception}
