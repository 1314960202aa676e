"""Turning a live frame into the stack a user reads, and finding *their* line in it.

    >>> stack = capture(sys._getframe())
    >>> user_line(stack)      # innermost frame of the user's own code

"User code" is anything that is not the standard library, not an installed package and
not loopwatch itself: the line the user can change.
"""

from __future__ import annotations

import functools
import linecache
import os
import sys
import sysconfig
from collections.abc import Iterable
from types import FrameType

from loopwatch.records import CodeLine

MAX_DEPTH = 60

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _library_roots() -> tuple[str, ...]:
    roots = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(os.path.realpath(path))
    for entry in sys.path:
        # Virtualenvs and user installs put packages outside the sysconfig paths.
        if entry.rstrip(os.sep).endswith(("site-packages", "dist-packages")):
            roots.add(os.path.realpath(entry))
    roots.add(os.path.realpath(_PACKAGE_DIR))
    return tuple(sorted(root + os.sep for root in roots))


@functools.lru_cache(maxsize=4096)
def is_user_file(filename: str) -> bool:
    """True when a frame in `filename` is code the user wrote (cached: called per frame)."""
    if not filename or filename.startswith("<"):
        return False
    real = os.path.realpath(filename)
    return not real.startswith(_library_roots_cached())


@functools.lru_cache(maxsize=1)
def _library_roots_cached() -> tuple[str, ...]:
    return _library_roots()


@functools.lru_cache(maxsize=4096)
def display_path(filename: str) -> str:
    """Relative to the working directory when inside it, else absolute (DESIGN.md)."""
    absolute = os.path.abspath(filename)
    cwd = os.getcwd()
    if absolute.startswith(cwd + os.sep):
        return os.path.relpath(absolute, cwd)
    return absolute


def _code_text(filename: str, lineno: int) -> str:
    return linecache.getline(filename, lineno).strip()


RawStack = tuple[tuple[str, int, str], ...]


def capture(frame: FrameType | None, limit: int = MAX_DEPTH) -> tuple[CodeLine, ...]:
    """Outermost-first stack ending at `frame`; no local variable values are read."""
    return from_raw(capture_raw(frame, limit))


def capture_raw(frame: FrameType | None, limit: int = MAX_DEPTH) -> RawStack:
    """(file, line, function) per frame, outermost first.

    Does no I/O, so it never releases the GIL: the watchdog reads a blocked thread's stack
    without giving the thread a chance to move on.
    """
    raw: list[tuple[str, int, str]] = []
    while frame is not None and len(raw) < limit:
        code = frame.f_code
        raw.append((code.co_filename, frame.f_lineno or code.co_firstlineno, code.co_name))
        frame = frame.f_back
    raw.reverse()
    return tuple(raw)


def from_raw(raw: RawStack) -> tuple[CodeLine, ...]:
    """The readable stack (source text included) of a `capture_raw` result."""
    return tuple(code_line(*entry) for entry in raw)


def code_line(filename: str, lineno: int, function: str) -> CodeLine:
    return CodeLine(
        file=display_path(filename) if not filename.startswith("<") else filename,
        line=lineno,
        function=function,
        code=_code_text(filename, lineno),
    )


def user_line(stack: Iterable[CodeLine]) -> CodeLine | None:
    """The innermost frame that belongs to the user's code, if any."""
    for frame in reversed(tuple(stack)):
        if is_user_file(_absolute(frame.file)):
            return frame
    return None


def _absolute(display: str) -> str:
    if display.startswith("<") or os.path.isabs(display):
        return display
    return os.path.join(os.getcwd(), display)


def trim_own_frames(stack: tuple[CodeLine, ...]) -> tuple[CodeLine, ...]:
    """Drop loopwatch's own innermost frames (e.g. the hook that captured the stack)."""
    end = len(stack)
    while end > 0 and os.path.realpath(_absolute(stack[end - 1].file)).startswith(
        _PACKAGE_DIR + os.sep
    ):
        end -= 1
    return stack[:end]
