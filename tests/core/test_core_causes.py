"""Each stall says why it happened: io, cpu, a garbage collection, or another thread's GIL."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from blockers import collect_garbage, gil_holding_size, hold_gil, sleep_for, spin_for, tagged_line

from loopwatch import StallRecord

# Cause and line checks depend on the OS scheduling two threads at the right moments (the
# watchdog must get the GIL while the step still blocks). On a machine shared with other work
# that occasionally fails to happen; a rerun tells a scheduling accident from a regression.
pytestmark = pytest.mark.flaky(reruns=2)


Run = Callable[[Any, float], list[StallRecord]]
THRESHOLD = 0.005


def only_stall(stalls: list[StallRecord]) -> StallRecord:
    assert len(stalls) == 1, [s.to_dict() for s in stalls]
    return stalls[0]


def test_sleeping_is_io(run: Run) -> None:
    """A step blocked in time.sleep is waiting on the system: cause `io`."""

    async def main() -> None:
        await asyncio.sleep(0)
        sleep_for(0.040)

    assert only_stall(run(main, THRESHOLD)).cause == "io"


def test_a_python_loop_is_cpu(run: Run) -> None:
    """A step spinning in Python code is burning its own CPU: cause `cpu`."""

    async def main() -> None:
        await asyncio.sleep(0)
        spin_for(0.040)

    assert only_stall(run(main, THRESHOLD)).cause == "cpu"


@pytest.fixture
def large_object_graph() -> Iterator[list[list[Any]]]:
    """About 2 million linked lists in one cycle: a full collection has a lot to traverse."""
    gc.disable()
    try:
        nodes: list[list[Any]] = [[] for _ in range(2_000_000)]
        for number, node in enumerate(nodes):
            node.append(nodes[number - 1])
    finally:
        gc.enable()
    yield nodes
    nodes.clear()
    del nodes
    gc.collect()


def test_a_full_collection_is_gc(run: Run, large_object_graph: list[list[Any]]) -> None:
    """A step that runs a long garbage collection is charged to `gc`, at the collecting line."""

    async def main() -> None:
        await asyncio.sleep(0)
        collect_garbage()
        await asyncio.sleep(0)

    stall = only_stall(run(main, THRESHOLD))
    assert stall.duration >= 0.05
    assert stall.cause == "gc"
    assert stall.blocking_line is not None
    assert os.path.basename(stall.blocking_line.file) == "blockers.py"
    assert stall.blocking_line.line == tagged_line("gc")


class GilHolder(threading.Thread):
    """A worker thread that, on `go`, makes one long C call, then idles until `done`."""

    def __init__(self, size: int) -> None:
        super().__init__(name="gil-holder")
        self.size = size
        self.go = threading.Event()
        self.finished = threading.Event()
        self.done = threading.Event()

    def run(self) -> None:
        self.go.wait()
        hold_gil(self.size)
        self.finished.set()
        self.done.wait()  # alive and idle, like a pool worker waiting for its next job


@pytest.fixture
def gil_holder() -> Iterator[GilHolder]:
    """A started `GilHolder` whose call takes about 0.3 s on this machine."""
    holder = GilHolder(gil_holding_size(0.3))
    holder.start()
    yield holder
    holder.go.set()
    holder.done.set()
    holder.join()


def test_another_thread_holding_the_gil_is_gil(run: Run, gil_holder: GilHolder) -> None:
    """The loop waits on a thread stuck in one long C call: `gil`, naming that thread and line."""

    async def main() -> None:
        await asyncio.sleep(0.01)
        gil_holder.go.set()
        # The task itself never blocks; waking every millisecond, it keeps wanting the GIL.
        while not gil_holder.finished.is_set():  # noqa: ASYNC110 (a thread sets it, not a task)
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.02)

    stall = only_stall(run(main, THRESHOLD))
    assert stall.cause == "gil"
    assert stall.blocking_line is None
    assert stall.held_by is not None
    assert stall.held_by.thread == "gil-holder"
    assert stall.held_by.blocking_line is not None
    assert os.path.basename(stall.held_by.blocking_line.file) == "blockers.py"
    assert stall.held_by.blocking_line.line == tagged_line("gil")
    assert stall.duration >= 0.1
