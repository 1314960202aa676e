"""What to do about a record: one short piece of advice per kind, blocking call or cause.

>>> hint_text("stall", "io", "time.sleep(0.1)")
'`time.sleep()` blocks the whole loop: use `await asyncio.sleep(...)`.'
>>> hint_parts("use `await x`")       # [("use ", False), ("await x", True)]
"""

from __future__ import annotations

import re

# A hint is prose with `code` in backticks; `hint_parts` splits it for the template.
_ORM_HINT = (
    "The ORM ran on the event loop. Use the async API (`await Model.objects.aget(...)`, "
    "`acount()`, `async for obj in queryset`) or wrap the block in "
    "`await sync_to_async(func)()`."
)
_CODE_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\btime\.sleep\s*\(|^\s*sleep\s*\("),
        "`time.sleep()` blocks the whole loop: use `await asyncio.sleep(...)`.",
    ),
    (
        re.compile(r"\brequests\.|\burlopen\s*\(|\burllib\.|\bhttp\.client\b|\.getresponse\("),
        "A blocking HTTP call: use an async client (`await client.get(...)` on one "
        "`httpx.AsyncClient` shared by the whole process: building one per request reads "
        "the CA bundle on the loop) or `await sync_to_async(call)()`.",
    ),
    (
        re.compile(r"\.objects\.|\.save\(|\.delete\(|\bcursor\("),
        _ORM_HINT,
    ),
    (
        re.compile(r"\bopen\s*\(|\.read\w*\(|\.write\w*\(|\bsubprocess\.|\bos\.system\("),
        "Blocking file or process I/O: run it off the loop with "
        "`await asyncio.to_thread(func, ...)` or `await sync_to_async(func)(...)`.",
    ),
)
_CAUSE_HINTS: dict[str, str] = {
    "gil": (
        "The loop waited for the GIL while another thread ran Python code. Make that thread's "
        "work smaller or move it to a process (`ProcessPoolExecutor`)."
    ),
    "gc": (
        "A garbage collection held the loop. Create fewer short-lived objects per request, or "
        "call `gc.freeze()` after start-up so long-lived objects are not scanned again."
    ),
    "cpu": (
        "CPU-bound work on the loop. Move it off with `await asyncio.to_thread(func, ...)` "
        "(a process pool for long computations), or split it and `await asyncio.sleep(0)` "
        "between chunks."
    ),
    "io": (
        "The loop thread waited on blocking I/O. Use the async counterpart of the call, or "
        "`await sync_to_async(func)(...)`."
    ),
    "unknown": (
        "Something held the loop: the stack shows the call. Move it off the loop with "
        "`await sync_to_async(func)(...)` or `await asyncio.to_thread(func, ...)`."
    ),
}
_KIND_HINTS: dict[str, str] = {
    "sync_orm": _ORM_HINT,
    "unawaited": (
        "The coroutine was created but never run. Put `await` in front of the call, or hand "
        "it to `asyncio.create_task(...)` and keep the task."
    ),
    "lost_exception": (
        "A task failed and nobody retrieved its exception. Await the task, or run tasks in an "
        "`asyncio.TaskGroup` so their errors reach the request."
    ),
}


def hint_text(kind: str, cause: str | None, code: str) -> str:
    """What to do about a record: by kind, then by the blocking code, then by cause."""
    if kind in _KIND_HINTS:
        return _KIND_HINTS[kind]
    if cause not in ("gil", "gc"):
        for pattern, text in _CODE_HINTS:
            if pattern.search(code):
                return text
    return _CAUSE_HINTS.get(cause or "unknown", _CAUSE_HINTS["unknown"])


def hint_parts(text: str) -> list[tuple[str, bool]]:
    """(segment, is_code) pairs of a hint: backticked segments are code."""
    return [(part, index % 2 == 1) for index, part in enumerate(text.split("`")) if part]
