"""Bounded storage of recent records, and the same records grouped by where they happened.

    >>> buffer = RecordBuffer(maxlen=1000)
    >>> buffer.append(record)
    >>> buffer.recent()        # newest first
    >>> buffer.groups()        # one row per (kind, view, blocking line): count, worst
    >>> buffer.for_request(7)  # what one request (RequestState.id 7) caused

Both are bounded: the ring by `maxlen`, the groups by `max_groups` (least recently seen group
evicted), so a flood of stalls or of distinct lines cannot grow memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass

from loopwatch.records import Record


@dataclass(slots=True)
class Group:
    """All records sharing kind, view and blocking line."""

    key: tuple[str, str, str, int]
    count: int
    worst: float
    total: float
    latest: Record
    delayed: int = 0  # other requests these stalls delayed, all-time like `count`

    @property
    def kind(self) -> str:
        return self.key[0]

    @property
    def view(self) -> str:
        return self.key[1]


def _delayed(record: Record) -> int:
    return int(getattr(record, "delayed_requests", 0) or 0)


def _duration(record: Record) -> float:
    value = getattr(record, "duration", None)
    return float(value) if value is not None else 0.0


class RecordBuffer:
    """Thread-safe ring of recent records plus running per-group totals."""

    def __init__(self, maxlen: int = 1000, max_groups: int = 500) -> None:
        self._records: deque[Record] = deque(maxlen=maxlen)
        self._groups: OrderedDict[tuple[str, str, str, int], Group] = OrderedDict()
        self._max_groups = max_groups
        self._lock = threading.Lock()

    @property
    def maxlen(self) -> int:
        return self._records.maxlen or 0

    @property
    def max_groups(self) -> int:
        return self._max_groups

    def append(self, record: Record) -> None:
        key = record.group_key()
        duration = _duration(record)
        with self._lock:
            self._records.append(record)
            group = self._groups.get(key)
            if group is None:
                self._groups[key] = Group(key, 1, duration, duration, record, _delayed(record))
                if len(self._groups) > self._max_groups:
                    self._groups.popitem(last=False)
            else:
                group.count += 1
                group.total += duration
                group.worst = max(group.worst, duration)
                group.delayed += _delayed(record)
                group.latest = record
                self._groups.move_to_end(key)

    def recent(self) -> list[Record]:
        with self._lock:
            return list(reversed(self._records))

    def for_request(self, request_id: int) -> list[Record]:
        """The retained records of one request, oldest first (a scan: for pages, not hot paths)."""
        with self._lock:
            return [record for record in self._records if record.request_id == request_id]

    def groups(self) -> list[Group]:
        """Worst first."""
        with self._lock:
            groups = list(self._groups.values())
        return sorted(groups, key=lambda g: (g.worst, g.count), reverse=True)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._groups.clear()

    def __len__(self) -> int:
        return len(self._records)
