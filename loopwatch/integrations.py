"""Framework integrations contribute patches that are applied and undone with the core's.

    >>> integrations.register("django", django_patches)   # from AppConfig.ready()

Registering only records a function; nothing is patched until detection starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loopwatch.monitor import Monitor
    from loopwatch.patches import Reversible

PatchFactory = Callable[["Monitor"], Iterable["Reversible"]]

_registry: dict[str, PatchFactory] = {}


def register(name: str, factory: PatchFactory) -> None:
    _registry[name] = factory


def unregister(name: str) -> None:
    _registry.pop(name, None)


def registered() -> list[tuple[str, PatchFactory]]:
    return list(_registry.items())
