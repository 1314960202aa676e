"""A thread's `/proc` files, read without letting any other thread run meanwhile.

    >>> files = ThreadProc(native_id)
    >>> files.syscall()      # 202 (futex: waiting for the GIL, say), -1 running, None unknown
    >>> files.busy()         # seconds on a CPU or waiting in the run queue for one

The watchdog reads the loop thread's state at moments when it holds the GIL and the loop
thread may be waiting for it. A Python-level read of `/proc` releases the GIL, which hands it to
the loop thread and changes the very state being read. libc's `pread` called through
`ctypes.PyDLL` keeps the GIL, so the reading is of the moment it was asked for.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

_BUFFER_SIZE = 64


def _load_pread() -> Any:
    try:
        libc = ctypes.PyDLL(None, use_errno=True)
        pread = libc.pread
    except (OSError, AttributeError):
        return None
    pread.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_long]
    pread.restype = ctypes.c_ssize_t
    return pread


_pread: Any = None
_pread_loaded = False


def _libc_pread() -> Any:
    global _pread, _pread_loaded
    if not _pread_loaded:
        _pread = _load_pread()
        _pread_loaded = True
    return _pread


def parse_syscall(text: bytes) -> int | None:
    """The system call number from `/proc/.../syscall` content (-1: not in a system call)."""
    first = text.split(maxsplit=1)
    if not first:
        return None
    if first[0] == b"running":
        return -1
    try:
        return int(first[0])
    except ValueError:
        return None


def parse_schedstat(text: bytes) -> float | None:
    """Seconds on a CPU plus seconds runnable but waiting for one, from `schedstat`."""
    fields = text.split()
    try:
        return (int(fields[0]) + int(fields[1])) / 1e9
    except (IndexError, ValueError):
        return None


class _ProcFile:
    """One `/proc/self/task/<id>/<name>` file, kept open and re-read on demand."""

    def __init__(self, native_id: int, name: str) -> None:
        self.path = f"/proc/self/task/{native_id}/{name}"
        self._buffer = ctypes.create_string_buffer(_BUFFER_SIZE)
        self._pread = _libc_pread()
        self._fd: int | None = None
        if self._pread is not None:
            try:
                self._fd = os.open(self.path, os.O_RDONLY)
            except OSError:
                self._fd = None

    def read(self) -> bytes | None:
        if self._fd is None:
            return read_once(self.path)
        size = self._pread(self._fd, self._buffer, _BUFFER_SIZE, 0)
        return self._buffer.raw[:size] if size > 0 else None

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def read_once(path: str) -> bytes | None:
    """A plain read (releases the GIL): for callers that do not mind."""
    try:
        with open(path, "rb") as f:
            return f.read(_BUFFER_SIZE)
    except OSError:
        return None


class ThreadProc:
    """The `/proc` files of one thread that the watchdog reads at every look."""

    def __init__(self, native_id: int) -> None:
        self.native_id = native_id
        self._syscall = _ProcFile(native_id, "syscall")
        self._schedstat = _ProcFile(native_id, "schedstat")

    def syscall(self) -> int | None:
        """System call number the thread is in, -1 if in none, None if unreadable."""
        text = self._syscall.read()
        return parse_syscall(text) if text is not None else None

    def busy(self) -> float | None:
        """Seconds the thread spent on a CPU or runnable (None if unreadable)."""
        text = self._schedstat.read()
        return parse_schedstat(text) if text is not None else None

    def close(self) -> None:
        self._syscall.close()
        self._schedstat.close()


def thread_busy(native_id: int) -> float | None:
    """`ThreadProc.busy` for a one-off reading (releases the GIL while reading)."""
    text = read_once(f"/proc/self/task/{native_id}/schedstat")
    return parse_schedstat(text) if text is not None else None
