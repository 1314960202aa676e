"""What the loopwatch page shows: recent records grouped by kind, view and blocking line.

    >>> groups = build_groups(stall_groups(), recent_stalls(), view="shop.views.Slow")
    >>> groups[0].count, groups[0].worst, groups[0].hint

Counts and worst durations come from the buffer's running totals (they outlive the ring);
causes, delayed requests and the rows with their stacks come from the records still in the
ring. Nothing here renders HTML: the template does that, with autoescaping on.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from loopwatch import stacks
from loopwatch.buffer import Group
from loopwatch.hints import hint_parts, hint_text
from loopwatch.records import (
    CodeLine,
    HeldBy,
    LostExceptionRecord,
    Record,
    StallRecord,
    SyncOrmRecord,
    UnawaitedRecord,
)

# Distinct stacks shown per group: each can be 60 frames deep, and the page must stay small.
MAX_CALL_PATHS = 5

KINDS: dict[str, str] = {
    "stall": "stall",
    "sync_orm": "sync ORM call",
    "unawaited": "never awaited",
    "lost_exception": "lost exception",
}
_PLURALS: dict[str, str] = {
    "stall": "stalls",
    "sync_orm": "sync ORM calls",
    "unawaited": "never awaited",
    "lost_exception": "lost exceptions",
}


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def _absolute(display: str) -> str:
    return display if display.startswith("<") else os.path.abspath(display)


def frame_rows(stack: Sequence[CodeLine], blocking: CodeLine | None) -> list[dict[str, str]]:
    """Outermost first, as in a traceback; the blocking line and library frames marked.

    Plain dicts: the template engine looks keys up before attributes, and a page can hold
    thousands of frames.
    """
    return [
        {
            "where": line.where(),
            "function": line.function,
            "code": line.code,
            "css": "blocking"
            if line == blocking
            else ("" if stacks.is_user_file(_absolute(line.file)) else "lib"),
        }
        for line in stack
    ]


@dataclass
class Row:
    """One record as the page lists it."""

    record: Record
    seconds: float | None
    duration: str
    at: str
    at_iso: str
    detail: str
    cause: str
    held_by: HeldBy | None
    delayed: int
    stack_anchor: str = ""  # the id of the call path this record's stack is shown under

    @property
    def anchor(self) -> str:
        return f"stall-{self.record.id}"


@dataclass(frozen=True)
class CallPath:
    """One distinct stack of a group, shown once however many records share it."""

    anchor: str
    frames: list[dict[str, str]]
    count: int


def _detail(record: Record) -> str:
    if isinstance(record, SyncOrmRecord):
        return record.sql or ""
    if isinstance(record, UnawaitedRecord):
        return record.coroutine
    if isinstance(record, LostExceptionRecord):
        return record.exception
    return ""


def make_row(record: Record) -> Row:
    at = record.at.astimezone(_dt.UTC)
    stall = record if isinstance(record, StallRecord) else None
    seconds = getattr(record, "duration", None)
    return Row(
        record=record,
        seconds=seconds,
        duration=format_seconds(seconds),
        at=at.strftime("%H:%M:%S"),
        at_iso=at.isoformat(timespec="milliseconds"),
        detail=_detail(record),
        cause=stall.cause if stall else "",
        held_by=stall.held_by if stall else None,
        delayed=stall.delayed_requests if stall else 0,
    )


@dataclass
class PageGroup:
    """One problem: every record of one kind, in one view, at one blocking line."""

    kind: str
    view: str
    blocking_line: CodeLine | None
    count: int
    worst: float
    latest: Record
    rows: list[Row] = field(default_factory=list)
    call_paths: list[CallPath] = field(default_factory=list)
    hidden_paths: int = 0  # distinct stacks beyond MAX_CALL_PATHS, left to stalls.json
    delayed_total: int | None = None  # all-time, from the buffer's running totals

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def worst_text(self) -> str:
        return format_seconds(self.worst) if self.worst > 0 else ""

    @cached_property
    def causes(self) -> list[tuple[str, int]]:
        """(cause, how many) over the retained records, most common first."""
        counted = Counter(row.cause for row in self.rows if row.cause)
        if not counted and isinstance(self.latest, StallRecord):
            counted[self.latest.cause] = 1
        return counted.most_common()

    @property
    def cause(self) -> str | None:
        causes = self.causes
        return causes[0][0] if causes else None

    @cached_property
    def delayed(self) -> int:
        if self.delayed_total is not None:
            return self.delayed_total
        return sum(row.delayed for row in self.rows)

    @cached_property
    def gil_holders(self) -> list[tuple[str, str]]:
        """Distinct (thread, file:line) that held the GIL during these stalls."""
        seen: dict[tuple[str, str], None] = {}
        for row in self.rows:
            if row.held_by is not None:
                line = row.held_by.blocking_line
                seen[(row.held_by.thread, line.where() if line else "an unknown line")] = None
        return list(seen)

    @cached_property
    def outcomes(self) -> list[tuple[str, int]]:
        counted: Counter[str] = Counter(
            row.record.outcome for row in self.rows if isinstance(row.record, SyncOrmRecord)
        )
        return counted.most_common()

    @property
    def detail(self) -> str:
        """The latest SQL, coroutine or exception text of the group."""
        return _detail(self.latest)

    @cached_property
    def hint(self) -> list[tuple[str, bool]]:
        code = self.blocking_line.code if self.blocking_line else ""
        return hint_parts(hint_text(self.kind, self.cause, code))

    @property
    def more(self) -> int:
        """Records counted in this group that have left the ring."""
        return max(self.count - len(self.rows), 0)


def build_groups(
    groups: Iterable[Group],
    records: Sequence[Record],
    *,
    view: str | None = None,
    kind: str | None = None,
) -> list[PageGroup]:
    """Groups in the buffer's order (worst first), each with its retained records, filtered."""

    def wanted(record_kind: str, record_view: str) -> bool:
        return (view is None or record_view == view) and (kind is None or record_kind == kind)

    page: dict[tuple[str, str, str, int], PageGroup] = {}
    for group in groups:
        if wanted(group.kind, group.view):
            latest = group.latest
            page[group.key] = PageGroup(
                group.kind,
                group.view,
                latest.blocking_line,
                group.count,
                group.worst,
                latest,
                delayed_total=group.delayed,
            )
    for record in records:  # newest first, so rows are too
        if not wanted(record.kind, record.view):
            continue
        key = record.group_key()
        target = page.get(key)
        if target is None:
            # The buffer evicted this group's totals (too many distinct lines): the records
            # still in the ring rebuild them below.
            target = page[key] = PageGroup(
                record.kind, record.view, record.blocking_line, 0, 0.0, record
            )
        target.rows.append(make_row(record))
    for shown in page.values():
        shown.count = max(shown.count, len(shown.rows))
        shown.worst = max([shown.worst, *(row.seconds or 0.0 for row in shown.rows)])
        _assign_call_paths(shown)
    return list(page.values())


def _assign_call_paths(group: PageGroup) -> None:
    """Records of one line mostly share one stack: show each distinct stack once, newest first."""
    by_stack: dict[tuple[CodeLine, ...], list[Row]] = {}
    for row in group.rows:
        if row.record.stack:
            by_stack.setdefault(row.record.stack, []).append(row)
    for stack, rows in itertools.islice(by_stack.items(), MAX_CALL_PATHS):
        anchor = f"stack-{rows[0].record.id}"
        for row in rows:
            row.stack_anchor = anchor
        frames = frame_rows(stack, rows[0].record.blocking_line)
        group.call_paths.append(CallPath(anchor, frames, len(rows)))
    group.hidden_paths = max(len(by_stack) - MAX_CALL_PATHS, 0)


def views_of(groups: Iterable[Group]) -> list[str]:
    """Every view with at least one group, for the filter's select."""
    return sorted({group.view for group in groups})


def kind_totals(groups: Iterable[Group]) -> list[tuple[str, str, int]]:
    """(kind, label, count) for each kind, in a fixed order."""
    counted: Counter[str] = Counter()
    for group in groups:
        counted[group.kind] += group.count
    return [
        (kind, label if counted[kind] == 1 else _PLURALS[kind], counted[kind])
        for kind, label in KINDS.items()
    ]
