"""The terminal report: what loopwatch's ``stalls.json`` says, grouped like its HTML page.

    report = format_report(json.loads(body), traffic=traffic)
    print(report)

Everything here is a pure function of its arguments, so it can be tested on a sample document.
"""

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loopwatch.hints import hint_text

# Sections in the order the report prints them, with their titles.
SECTIONS = {
    "stall": "Stalls: steps that held the event loop for at least {threshold}",
    "sync_orm": "ORM calls made on the event-loop thread",
    "unawaited": "Coroutines that were never awaited",
    "lost_exception": "Task exceptions that were never retrieved",
}


@dataclass
class ViewTraffic:
    """What the load driver sent to one view and what came back."""

    path: str
    mistake: bool = False
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def status_text(self) -> str:
        """``"200x40 500x3"``; status 0 stands for requests that got no HTTP answer."""
        parts = [f"{code or 'failed'}x{n}" for code, n in sorted(self.statuses.items())]
        return " ".join(parts) or "-"


@dataclass
class LineGroup:
    """All records of one kind that one view produced at one blocking line."""

    kind: str
    view: str
    location: str
    function: str
    code: str
    count: int = 0
    worst: float | None = None
    causes: Counter[str] = field(default_factory=Counter)
    delayed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    sql: str = ""
    detail: str = ""


def format_duration(seconds: float | None) -> str:
    """``0.2013`` -> ``"201 ms"``; below 10 ms one decimal is kept."""
    if seconds is None:
        return "-"
    ms = seconds * 1000
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"


# Where a record without a blocking line "was": no frame of the project's own code was running
# (only Django, asgiref, the standard library, or the garbage collector).
NO_LINE = "(no line of the project's code on the stack)"


def _location(blocking_line: Mapping[str, Any] | None) -> tuple[str, str, str]:
    if not blocking_line:
        return NO_LINE, "", ""
    where = f"{blocking_line.get('file', '?')}:{blocking_line.get('line', '?')}"
    return where, str(blocking_line.get("function") or ""), str(blocking_line.get("code") or "")


def _detail(record: Mapping[str, Any]) -> str:
    # unawaited and lost_exception records name the coroutine or the exception; take what is there.
    for key in ("coroutine", "exception", "message"):
        if record.get(key):
            return str(record[key])
    return ""


def group_records(records: Iterable[Mapping[str, Any]]) -> list[LineGroup]:
    """Records grouped by (kind, view, blocking line), most frequent first within each kind."""
    groups: dict[tuple[str, str, str], LineGroup] = {}
    for record in records:
        kind = str(record.get("kind", "stall"))
        view = str(record.get("view") or "<none>")
        location, function, code = _location(record.get("blocking_line"))
        group = groups.get((kind, view, location))
        if group is None:
            group = groups[(kind, view, location)] = LineGroup(kind, view, location, function, code)
        group.count += 1
        duration = record.get("duration")
        if isinstance(duration, int | float):
            group.worst = max(group.worst or 0.0, float(duration))
        if record.get("cause"):
            group.causes[str(record["cause"])] += 1
        delayed = record.get("delayed_requests")
        if isinstance(delayed, int):
            group.delayed += delayed
        if record.get("outcome"):
            group.outcomes[str(record["outcome"])] += 1
        if record.get("sql") and not group.sql:
            group.sql = str(record["sql"])
        if not group.detail:
            group.detail = _detail(record)
    kind_order = {kind: i for i, kind in enumerate(SECTIONS)}
    return sorted(
        groups.values(),
        key=lambda g: (
            kind_order.get(g.kind, len(kind_order)),
            g.location == NO_LINE,  # the lines a user can change come first
            -g.count,
            g.view,
            g.location,
        ),
    )


def format_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]
) -> list[str]:
    """Plain-text columns; the column numbers in ``right`` are right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = []
    for row in [headers, *rows]:
        cells = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def _summary_cell(counter: Counter[str]) -> str:
    return ", ".join(name for name, _ in counter.most_common()) or "-"


def _section(kind: str, groups: list[LineGroup], threshold: float | None) -> list[str]:
    title = SECTIONS.get(kind, kind).format(threshold=format_duration(threshold))
    lines = [title, "-" * len(title)]
    if kind == "stall":
        headers = ["count", "worst", "cause", "delayed", "view"]
        rows = [
            [
                str(g.count),
                format_duration(g.worst),
                _summary_cell(g.causes),
                str(g.delayed),
                g.view,
            ]
            for g in groups
        ]
    elif kind == "sync_orm":
        headers = ["count", "outcome", "view"]
        rows = [[str(g.count), _summary_cell(g.outcomes), g.view] for g in groups]
    else:
        headers = ["count", "view"]
        rows = [[str(g.count), g.view] for g in groups]
    table = format_table(headers, rows, right={0, 3} if kind == "stall" else {0})
    indent = " " * (len(table[0]) - len(headers[-1]))
    lines.append(table[0])
    for group, row_text in zip(groups, table[1:], strict=True):
        lines.append(row_text)
        function = f" in {group.function}" if group.function else ""
        at = "" if group.location == NO_LINE else "at "
        lines.append(f"{indent}{at}{group.location}{function}")
        if group.code:
            lines.append(f"{indent}   {group.code}")
        if group.sql:
            lines.append(f"{indent}   sql: {group.sql}")
        if group.detail:
            lines.append(f"{indent}   {group.detail}")
        lines.append(f"{indent}-> {advice(group)}")
    return lines


def advice(group: LineGroup) -> str:
    """The same advice loopwatch's page gives for this kind, code and cause, as plain text."""
    cause = group.causes.most_common(1)[0][0] if group.causes else None
    return hint_text(group.kind, cause, group.code).replace("`", "")


def format_views_table(
    traffic: Mapping[str, ViewTraffic],
    groups: Sequence[LineGroup],
    hops: Mapping[str, float] | None = None,
) -> list[str]:
    """One row per driven view: requests, HTTP statuses, and what loopwatch recorded for it."""
    per_view: dict[str, Counter[str]] = {}
    for group in groups:
        per_view.setdefault(group.view, Counter())[group.kind] += group.count
    headers = ["view", "kind", "requests", "statuses", "stalls", "orm", "lost"]
    if hops is not None:
        headers.append("hops/req")
    rows = []
    for view, sent in sorted(traffic.items(), key=lambda item: (item[1].mistake, item[0])):
        seen = per_view.get(view, Counter())
        # Coroutines never awaited and task exceptions never retrieved: work that was lost.
        lost = seen["unawaited"] + seen["lost_exception"]
        row = [
            view,
            "mistake" if sent.mistake else "correct",
            str(sent.requests),
            sent.status_text(),
            str(seen["stall"]),
            str(seen["sync_orm"]),
            str(lost),
        ]
        if hops is not None:
            per_request = hops.get(view, 0.0) / sent.requests if sent.requests else 0.0
            row.append(f"{per_request:.1f}")
        rows.append(row)
    title = "Views driven"
    return [title, "-" * len(title), *format_table(headers, rows, right={2, 4, 5, 6, 7})]


def format_report(
    document: Mapping[str, Any] | None,
    traffic: Mapping[str, ViewTraffic] | None = None,
    hops: Mapping[str, float] | None = None,
    checks: Sequence[str] = (),
) -> str:
    """The whole report for one ``stalls.json`` document (None: it could not be read)."""
    threshold = document.get("threshold") if document else None
    records = list(document.get("stalls") or []) if document else []
    groups = group_records(records)
    if document is None:
        header = "loopwatch report: stalls.json could not be read, so nothing below is from it"
    else:
        header = (
            f"loopwatch report: {len(records)} recent records"
            f" (threshold {format_duration(threshold)}; stalls.json keeps the newest)"
        )
    lines = [header, ""]
    if traffic:
        lines += [*format_views_table(traffic, groups, hops), ""]
    for kind in [*SECTIONS, *sorted({g.kind for g in groups} - set(SECTIONS))]:
        of_kind = [g for g in groups if g.kind == kind]
        if of_kind:
            lines += [*_section(kind, of_kind, threshold), ""]
    if document is not None and not groups:
        lines += ["No stalls, no ORM calls on the loop, no lost coroutines or exceptions.", ""]
    if checks:
        title = "Static checks (manage.py check --tag loopwatch)"
        lines += [title, "-" * len(title), *checks, ""]
    return "\n".join(lines).rstrip() + "\n"
