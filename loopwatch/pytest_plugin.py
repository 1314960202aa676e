"""pytest plugin: fail a test during which a step held the event loop for too long.

    pytest --loopwatch-threshold=0.05
    pytest --loopwatch-threshold=0.05 --loopwatch-baseline=loopwatch-baseline.json

Off unless a threshold is given (`--loopwatch-threshold`, or ini `loopwatch_threshold`): then
nothing is installed, no hook below runs per test, and the only traces are the options, the
marker and an inert `loopwatch` fixture. When on, detection is installed once for the session
(it is process-wide), every record is charged to the test phase running when it arrived, and
everything is undone when the session ends.

Importing this module has no side effects and does not import Django.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from loopwatch import api
from loopwatch.baseline import Baseline, BaselineError, Measurement
from loopwatch.pytest_options import MARKER, Settings, add_options, marker_threshold, read_settings
from loopwatch.pytest_results import WORKER_OUTPUT_KEY, RunResults
from loopwatch.records import Record
from loopwatch.sinks import Sink
from loopwatch.testwatch import TestWatch, failure_text, growth_text, seconds, write_report

if TYPE_CHECKING:
    from loopwatch.monitor import Monitor
    from loopwatch.tally import StepTally

__all__ = ["TestWatch"]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


# -- switching on ----------------------------------------------------------------------------

RUN_KEY = pytest.StashKey["LoopwatchRun"]()
WATCH_KEY = pytest.StashKey[TestWatch]()
MARKER_ERROR_KEY = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)
    settings = read_settings(config)
    if settings is None:
        return
    run = LoopwatchRun(config, settings)
    config.stash[RUN_KEY] = run
    config.pluginmanager.register(run, "loopwatch-run")


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(RUN_KEY, None)
    if run is not None:
        run.stop()  # normally done at session finish; this covers an aborted session


@pytest.fixture(name="loopwatch")
def loopwatch_fixture(request: pytest.FixtureRequest) -> TestWatch:
    """The stalls seen during this test so far: `loopwatch.stalls`, `loopwatch.records`."""
    node: pytest.Item = request.node
    watch = node.stash.get(WATCH_KEY, None)
    if watch is None:  # loopwatch is off for this run
        return TestWatch(node.nodeid, None)
    return watch


# -- while on --------------------------------------------------------------------------------


class _PhaseSink(Sink):
    """Hands every record to the test whose phase is running when it arrives."""

    def __init__(self) -> None:
        self.current: TestWatch | None = None

    def on_record(self, record: Record) -> None:
        watch = self.current
        if watch is not None:
            watch.add(record)

    def __repr__(self) -> str:
        return "<loopwatch pytest plugin>"


class LoopwatchRun:
    """The plugin while it is on: the installation, the test being watched, the results."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.sink = _PhaseSink()
        self.monitor: Monitor | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._owns_install = False
        self._previous_threshold: float | None = None
        self.floor = settings.threshold  # lowered to the smallest marker's after collection
        self.baseline: Baseline | None = None
        self.watches: dict[str, TestWatch] = {}
        self.measured: dict[str, Measurement] = {}  # update mode: written at the end
        self.over_baseline: list[str] = []
        self.unknown_to_baseline: list[str] = []
        # Under pytest-xdist, in the controller: what the workers found.
        self.from_workers: RunResults | None = None
        self.final: RunResults | None = None
        self._teardown_mark = 0
        self._written: list[str] = []

    # -- installation --------------------------------------------------------------------

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        path = self.settings.baseline
        if path is not None:
            if not path.exists() and not self.settings.update_baseline:
                raise pytest.UsageError(
                    f"loopwatch baseline {path} does not exist: create it with "
                    "--loopwatch-baseline-update"
                )
            try:
                # An update keeps the entries of tests this run does not run.
                self.baseline = Baseline.load(path) if path.exists() else Baseline()
            except BaselineError as exc:
                raise pytest.UsageError(f"--loopwatch-baseline: {exc}") from None

    def _ensure_installed(self) -> Monitor:
        """Install (again, if a test uninstalled loopwatch itself) and listen."""
        monitor = api.current_monitor()
        if monitor is not None and monitor is self.monitor:
            if monitor.threshold != self.floor:
                # The program under test installed with its own (e.g. the LOOPWATCH setting,
                # at the middleware's first event): in a test run, pytest's options decide.
                monitor.set_threshold(self.floor)
            return monitor
        self._detach()
        if monitor is None:
            monitor = api.install(self.floor, log=False)
            self._owns_install = True
        else:  # the program under test installed it first: share it, and leave it be
            self._previous_threshold = monitor.threshold
            monitor.set_threshold(self.floor)
            self._owns_install = False
        self.monitor = monitor
        self._unsubscribe = api.subscribe(self.sink)
        return monitor

    def _detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.monitor = None

    def stop(self) -> None:
        """Undo everything: every patch and thread loopwatch started for this run."""
        monitor = self.monitor
        self._detach()
        self.sink.current = None
        if monitor is None or api.current_monitor() is not monitor:
            return
        if self._owns_install:
            api.uninstall()
        elif self._previous_threshold is not None:
            monitor.set_threshold(self._previous_threshold)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # Installed only now, when every conftest has been imported: a framework set up there
        # (Django's AppConfig.ready) has registered its integration, which install() applies.
        if session.config.option.collectonly:
            return
        # Detection runs at the smallest threshold any test asks for, fixed for the run: the
        # watchdog's pace follows the threshold, and a pace changed per test would only take
        # effect after the sleep in progress. Each test then keeps the stalls that reach its
        # own threshold.
        thresholds = []
        for item in session.items:
            with suppress(ValueError):  # a bad marker is reported when its test runs
                thresholds.append(marker_threshold(item, self.settings.threshold))
        floor = min([t for t in thresholds if t is not None], default=self.settings.threshold)
        self.floor = min(floor, self.settings.threshold)
        self._ensure_installed()

    # -- one test --------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, object, object]:
        self._ensure_installed()
        try:
            threshold = marker_threshold(item, self.settings.threshold)
        except ValueError as exc:
            threshold = self.settings.threshold
            item.stash[MARKER_ERROR_KEY] = str(exc)  # the test errors at setup
        # Opted-out tests still see the stalls that reach the run's threshold (fixture).
        watch = TestWatch(item.nodeid, threshold, seen_from=threshold or self.settings.threshold)
        item.stash[WATCH_KEY] = watch
        self.watches[item.nodeid] = watch
        self.sink.current = watch
        try:
            return (yield)
        finally:
            self.sink.current = None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        error = item.stash.get(MARKER_ERROR_KEY, None)
        if error is not None:
            pytest.fail(error, pytrace=False)
        watch = item.stash[WATCH_KEY]
        watch.phase = "setup"
        try:
            yield
        except BaseException:
            # No call phase will report them: show the setup's stalls with its failure.
            self._add_section(item, "setup", watch)
            raise

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Generator[None, object, object]:
        watch = self.sink.current
        if watch is None or not watch.phase.startswith("setup"):
            return (yield)
        previous = watch.phase
        watch.phase = f"setup of fixture {fixturedef.argname!r}"
        try:
            return (yield)
        finally:
            watch.phase = previous

    def pytest_fixture_post_finalizer(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> None:
        # Called once a fixture's finalizers ran: what arrived since the previous fixture's
        # end happened in this one's teardown.
        watch = self.sink.current
        if watch is None or watch.phase != "teardown":
            return
        watch.relabel_since(self._teardown_mark, f"teardown of fixture {fixturedef.argname!r}")
        self._teardown_mark = watch.mark()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        watch = item.stash[WATCH_KEY]
        watch.phase = "call"
        budget = self.baseline is not None and watch.threshold is not None
        try:
            with self._tally(watch) if budget else nullcontext():
                result = yield
        except BaseException:
            self._add_section(item, "call", watch)
            raise
        problems = self._stall_text(watch)
        if budget:
            problems = "\n".join(filter(None, [problems, self._apply_budget(watch)]))
        if problems:
            pytest.fail(problems, pytrace=False)
        return result

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, object, object]:
        watch = item.stash[WATCH_KEY]
        watch.phase = "teardown"
        self._teardown_mark = watch.mark()
        try:
            result = yield
        except BaseException:
            self._add_section(item, "teardown", watch)
            raise
        problems = self._stall_text(watch)
        if problems:
            pytest.fail(problems, pytrace=False)
        return result

    @contextmanager
    def _tally(self, watch: TestWatch) -> Iterator[StepTally]:
        monitor = self._ensure_installed()
        with monitor.tallying() as tally:
            yield tally
        watch.loop_time = tally.loop_time
        watch.worst_step = tally.worst
        watch.worst_step_line = tally.worst_line

    # -- what fails a test -----------------------------------------------------------------

    def _stall_text(self, watch: TestWatch) -> str:
        stalls = watch.take_unreported()
        if watch.threshold is None or not stalls:
            return ""
        return failure_text(stalls, watch.threshold, verbose=self.config.get_verbosity() > 0)

    def _apply_budget(self, watch: TestWatch) -> str:
        """Update mode: record the test's measurement. Compare mode: the growth text, if any."""
        baseline = self.baseline
        if baseline is None or watch.loop_time is None or watch.worst_step is None:
            return ""
        measured = Measurement(watch.loop_time, watch.worst_step)
        if self.settings.update_baseline:
            self.measured[watch.nodeid] = measured
            return ""
        grown = baseline.compare(watch.nodeid, measured, self.settings.tolerance)
        if grown is None:
            self.unknown_to_baseline.append(watch.nodeid)
            return ""
        if not grown:
            return ""
        self.over_baseline.append(watch.nodeid)
        shown = self._shown(self.settings.baseline)
        return growth_text(grown, shown, self.settings.tolerance, watch)

    def _shown(self, path: Path | None) -> str:
        """A path as the user gave it: relative to where pytest was started, when inside."""
        if path is None:
            return ""
        root = self.config.invocation_params.dir
        return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)

    def _add_section(self, item: pytest.Item, when: str, watch: TestWatch) -> None:
        text = self._stall_text(watch)
        if text:
            item.add_report_section(when, "loopwatch", text)

    # -- end of the session ----------------------------------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.stop()
        results = self.results()
        if hasattr(self.config, "workerinput"):
            # A pytest-xdist worker: the controller writes the files, for every worker.
            self.config.workeroutput[WORKER_OUTPUT_KEY] = results.to_json()  # type: ignore[attr-defined]
            return
        self.final = results
        settings = self.settings
        if settings.baseline is not None and settings.update_baseline and self.baseline is not None:
            for nodeid, measured in results.measured.items():
                self.baseline.record(nodeid, measured)
            self.baseline.save(settings.baseline)
            self._written.append(f"baseline written to {self._shown(settings.baseline)}")
        if settings.report is not None:
            write_report(settings.report, settings.threshold, results.tests)
            self._written.append(f"report written to {self._shown(settings.report)}")

    @pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: known only when it is installed
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        output = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY)
        if output is None:  # the worker died before the end of its session
            return
        if self.from_workers is None:
            self.from_workers = RunResults()
        self.from_workers.merge(RunResults.from_json(output))

    def results(self) -> RunResults:
        """This process's tests, and under pytest-xdist's controller the workers' too."""
        results = RunResults.of(
            self.watches, self.measured, self.over_baseline, self.unknown_to_baseline
        )
        if self.from_workers is not None:
            results.merge(self.from_workers)
        return results

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.config.option.collectonly or hasattr(self.config, "workerinput"):
            return
        results = self.final if self.final is not None else self.results()
        count, stalled = results.stall_counts()
        parts = [
            f"threshold {seconds(self.settings.threshold)}",
            f"{count} stall{'s' if count != 1 else ''} in {stalled} of {len(results.tests)} tests",
        ]
        if self.baseline is not None and not self.settings.update_baseline:
            parts.append(f"{len(results.over_baseline)} over the baseline")
            if results.unknown_to_baseline:
                parts.append(f"{len(results.unknown_to_baseline)} not in the baseline")
        parts.extend(self._written)
        terminalreporter.write_sep("-", "loopwatch")
        terminalreporter.write_line("; ".join(parts))
