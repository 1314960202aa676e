"""Which system call a thread is in, read without letting any other thread run meanwhile.

    >>> reader = SyscallReader(native_id)
    >>> reader.read()        # 202 (futex: waiting for the GIL, say), -1 running, None unknown

The watchdog reads the loop thread's state at moments when it holds the GIL and the loop
thread may be waiting for it. A Python-level read of `/proc` releases the GIL, which hands it to
the loop thread and changes the very state being read. libc's `pread` called through
`ctypes.PyDLL` keeps the GIL, so the reading is of the moment it was asked for.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

from loopwatch import causes

_BUFFER_SIZE = 32


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


class SyscallReader:
    """Keeps `/proc/self/task/<id>/syscall` open and re-reads it on demand."""

    def __init__(self, native_id: int) -> None:
        self.native_id = native_id
        self._fd: int | None = None
        self._buffer = ctypes.create_string_buffer(_BUFFER_SIZE)
        self._pread = _libc_pread()
        if self._pread is not None:
            try:
                self._fd = os.open(f"/proc/self/task/{native_id}/syscall", os.O_RDONLY)
            except OSError:
                self._fd = None

    def read(self) -> int | None:
        """System call number the thread is in, -1 if running, None if unreadable."""
        if self._fd is None:
            return causes.current_syscall(self.native_id)
        size = self._pread(self._fd, self._buffer, _BUFFER_SIZE, 0)
        if size <= 0:
            return None
        return causes.parse_syscall(self._buffer.raw[:size])

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
