"""The one place loopwatch changes objects it does not own, and undoes the change.

    >>> patch = Patch(asyncio.events.Handle, "_run", timed_run)
    >>> with PatchSet([patch]):        # apply all or nothing
    ...     ...                         # restored on exit, by identity

A `Patch` captures the original when it is *applied*, not when it is built, so a patch applied
after somebody else's (aiodebug's slow-callback log, say) wraps theirs. On restore it puts the
original back only if the attribute still holds loopwatch's replacement; if somebody patched
over it meanwhile, restoring would throw their patch away, so the replacement stays in their
chain and every replacement loopwatch installs falls through to the original when loopwatch is
not active.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Protocol

logger = logging.getLogger("loopwatch")

_MISSING = object()


class Patch:
    """Replace `owner.name` by `replacement`; `replacement` may be built from the original."""

    def __init__(
        self,
        owner: Any,
        name: str,
        replacement: Any = None,
        *,
        wrap: Callable[[Any], Any] | None = None,
    ) -> None:
        if (replacement is None) == (wrap is None):
            raise TypeError("give exactly one of replacement= or wrap=")
        self.owner = owner
        self.name = name
        self._replacement = replacement
        self._wrap = wrap
        self.original: Any = _MISSING
        self._own_original: Any = _MISSING  # what owner.__dict__ held (absent if inherited)
        self.installed: Any = _MISSING
        self.active = False

    def __repr__(self) -> str:
        owner = getattr(self.owner, "__qualname__", None) or getattr(
            self.owner, "__name__", repr(self.owner)
        )
        return f"<Patch {owner}.{self.name} active={self.active}>"

    def apply(self) -> None:
        if self.active:
            return
        namespace = getattr(self.owner, "__dict__", {})
        self._own_original = namespace.get(self.name, _MISSING)
        self.original = getattr(self.owner, self.name)
        replacement = self._wrap(self.original) if self._wrap else self._replacement
        setattr(self.owner, self.name, replacement)
        self.installed = replacement
        self.active = True

    def restore(self) -> bool:
        """Undo; False when somebody patched over us (their patch is kept, ours is inert)."""
        if not self.active:
            return True
        self.active = False
        current = self.owner.__dict__.get(self.name, _MISSING)
        if current is not self.installed:
            logger.warning(
                "loopwatch: %s was patched again by someone else after loopwatch; "
                "leaving their patch in place (loopwatch's layer is now inert)",
                self,
            )
            return False
        if self._own_original is _MISSING:
            delattr(self.owner, self.name)
        else:
            setattr(self.owner, self.name, self._own_original)
        return True

    def is_pristine(self) -> bool:
        """True when the attribute is exactly what it was before `apply` (for leak checks)."""
        current = self.owner.__dict__.get(self.name, _MISSING)
        return current is self._own_original


class Reversible(Protocol):
    """What PatchSet needs of a patch."""

    active: bool

    def apply(self) -> None: ...

    def restore(self) -> bool: ...

    def is_pristine(self) -> bool: ...


class PatchSet:
    """Apply several patches all-or-nothing; restore in reverse order."""

    def __init__(self, patches: Iterable[Reversible]) -> None:
        self.patches = list(patches)

    def apply(self) -> None:
        done: list[Reversible] = []
        try:
            for patch in self.patches:
                patch.apply()
                done.append(patch)
        except BaseException:
            for patch in reversed(done):
                patch.restore()
            raise

    def restore(self) -> None:
        for patch in reversed(self.patches):
            patch.restore()

    def __enter__(self) -> PatchSet:
        self.apply()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.restore()


class ListEntry:
    """Membership of `item` in a list loopwatch does not own (e.g. `gc.callbacks`)."""

    def __init__(self, target: list[Any], item: Any, label: str) -> None:
        self.target = target
        self.item = item
        self.label = label
        self.active = False

    def __repr__(self) -> str:
        return f"<ListEntry {self.label} active={self.active}>"

    def apply(self) -> None:
        if not self.active:
            self.target.append(self.item)
            self.active = True

    def restore(self) -> bool:
        if self.active:
            self.active = False
            while self.item in self.target:
                self.target.remove(self.item)
        return True

    def is_pristine(self) -> bool:
        return self.item not in self.target


class TaskFactoryPatch:
    """A task factory set on one running loop, chaining the factory that was there before."""

    def __init__(self, loop: Any, build: Callable[[Any], Any]) -> None:
        self.loop = loop
        self._build = build
        self.previous: Any = None
        self.installed: Any = None
        self.active = False

    def __repr__(self) -> str:
        return f"<TaskFactoryPatch {type(self.loop).__name__} active={self.active}>"

    def apply(self) -> None:
        if self.active:
            return
        self.previous = self.loop.get_task_factory()
        self.installed = self._build(self.previous)
        self.loop.set_task_factory(self.installed)
        self.active = True

    def restore(self) -> bool:
        if not self.active:
            return True
        self.active = False
        if self.loop.is_closed():
            return True
        if self.loop.get_task_factory() is not self.installed:
            logger.warning(
                "loopwatch: the task factory of %r was replaced after loopwatch set it; "
                "leaving it in place (loopwatch's factory is now inert)",
                self.loop,
            )
            return False
        self.loop.set_task_factory(self.previous)
        return True

    def is_pristine(self) -> bool:
        return self.loop.is_closed() or self.loop.get_task_factory() is self.previous


class SignalReceiver:
    """A receiver connected to a Django-style signal (anything with connect/disconnect)."""

    def __init__(self, signal: Any, receiver: Callable[..., Any], uid: str) -> None:
        self.signal = signal
        self.receiver = receiver
        self.uid = uid
        self.active = False

    def __repr__(self) -> str:
        return f"<SignalReceiver {self.uid} active={self.active}>"

    def apply(self) -> None:
        if not self.active:
            self.signal.connect(self.receiver, weak=False, dispatch_uid=self.uid)
            self.active = True

    def restore(self) -> bool:
        if self.active:
            self.signal.disconnect(dispatch_uid=self.uid)
            self.active = False
        return True

    def is_pristine(self) -> bool:
        return not self.active


class ExecuteWrappers:
    """A database execute wrapper on every connection: those open now and those opened later.

    Django keeps `execute_wrappers` per connection object; a connection opened after `apply`
    gets the wrapper from the `connection_created` signal, and `restore` takes it off every
    connection it was put on.
    """

    def __init__(self, connections: Any, connection_created: Any, wrapper: Any) -> None:
        self.connections = connections
        self.wrapper = wrapper
        self.active = False
        self._wrapped: list[Any] = []  # weak enough: connections live as long as their thread
        self._signal = SignalReceiver(
            connection_created, self._on_connection_created, "loopwatch.execute_wrapper"
        )
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<ExecuteWrappers active={self.active}>"

    def _add(self, connection: Any) -> None:
        with self._lock:
            if self.active and self.wrapper not in connection.execute_wrappers:
                connection.execute_wrappers.append(self.wrapper)
                self._wrapped.append(connection)

    def _on_connection_created(self, sender: Any, connection: Any, **kwargs: Any) -> None:
        self._add(connection)

    def apply(self) -> None:
        if self.active:
            return
        self.active = True
        self._signal.apply()
        for connection in self.connections.all(initialized_only=True):
            self._add(connection)

    def restore(self) -> bool:
        if not self.active:
            return True
        self._signal.restore()
        with self._lock:
            self.active = False
            for connection in self._wrapped:
                while self.wrapper in connection.execute_wrappers:
                    connection.execute_wrappers.remove(self.wrapper)
            self._wrapped.clear()
        return True

    def is_pristine(self) -> bool:
        return not self._wrapped and self._signal.is_pristine()


class CoroutineOriginTracking:
    """`sys.set_coroutine_origin_tracking_depth(depth)` in the thread that applies it.

    CPython keeps the depth per thread, so the previous depth is restored only from that same
    thread (and only if nobody changed it since: asyncio's debug mode sets its own).
    """

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.previous = 0
        self.thread_id: int | None = None
        self.active = False

    def __repr__(self) -> str:
        return f"<CoroutineOriginTracking depth={self.depth} active={self.active}>"

    def apply(self) -> None:
        if self.active:
            return
        self.previous = sys.get_coroutine_origin_tracking_depth()
        if self.previous < self.depth:
            sys.set_coroutine_origin_tracking_depth(self.depth)
        self.thread_id = threading.get_ident()
        self.active = True

    def restore(self) -> bool:
        if not self.active:
            return True
        self.active = False
        if threading.get_ident() != self.thread_id:
            logger.warning(
                "loopwatch: coroutine origin tracking was switched on in another thread and "
                "can only be switched off there; it stays on in that thread"
            )
            return False
        if sys.get_coroutine_origin_tracking_depth() == max(self.depth, self.previous):
            sys.set_coroutine_origin_tracking_depth(self.previous)
        return True

    def is_pristine(self) -> bool:
        if threading.get_ident() != self.thread_id:
            return not self.active
        return sys.get_coroutine_origin_tracking_depth() == self.previous
