"""Benchmarks counted in instructions (callgrind), not seconds: the same on a busy machine.

    python bench/run.py steps                        # the per-step table, N=20000
    python bench/run.py steps --n 2000 --only "loopwatch asyncio" --json
    python bench/run.py requests                     # per Django request, N=400
    python bench/run.py requests-breakdown           # the same, one part of loopwatch at a time
    python bench/run.py requests-orm                 # per request to a page making two queries
    python bench/run.py requests-unawaited           # with forgotten-await tracking on
    python bench/run.py wrk                          # seconds, not instructions: see wrk_bench.py
    python bench/run.py memory                       # RSS bound: see memory_bench.py

Each configuration is one workload process run twice under
`valgrind --tool=callgrind --separate-threads=yes`, with N units of work and with none; the
difference divided by N is the cost of one unit with start-up removed. The real interpreter
binary is run (a venv's `python` may be a shim valgrind would measure instead), with the
venv's site-packages and this checkout on PYTHONPATH.

Two counts per unit: the main thread's (where the event loop runs) and all threads'. The
watchdog thread polls on a wall-clock interval, and each poll also costs the loop thread a GIL
hand-over and a lag ping; valgrind runs the program ~50x slower, so under it those costs land
on ~50x fewer steps than they really span, and vary with the machine's load. The steps suite
therefore judges its target on "loopwatch hot path" (the watchdog stopped: exactly what each
step pays) and shows the full "loopwatch" rows beside it.

A suite is data: its configurations (name, workload command, role, group) and its targets
("role A adds at most X per unit over role B, in every group"). Add a suite by adding a
`Suite` to `SUITES`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import site
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))  # the workload and benchmark modules beside this one

from request_workload import MODES  # noqa: E402

_COLLECTED = re.compile(r"^==\d+== Collected : (\d+)\s*$", re.MULTILINE)
_SUMMARY = re.compile(r"^summary: (\d+)\s*$", re.MULTILINE)


class BenchError(RuntimeError):
    """A workload failed or callgrind's output could not be read."""


@dataclass(frozen=True)
class Config:
    """One workload: `command` + [N] is run under callgrind."""

    name: str  # "loopwatch asyncio"
    role: str  # what is compared: "plain", "aiodebug", "loopwatch"
    group: str  # comparisons are made within a group: "asyncio", "uvloop"
    command: tuple[str, ...]  # script and arguments, N appended


@dataclass(frozen=True)
class Target:
    """`role` adds at most `limit` instructions per unit over `over`, in every group; or, with
    `ratios` ({group: r}), costs at most r times `over` in that group."""

    role: str
    over: str
    limit: float = 0.0
    ratios: tuple[tuple[str, float], ...] = ()

    def describe(self, unit: str) -> str:
        if self.ratios:
            bounds = ", ".join(f"{ratio:.2f}x on {group}" for group, ratio in self.ratios)
            return f"{self.role} costs at most {bounds} {self.over} per {unit}"
        return (
            f"{self.role} adds at most {self.limit:,.0f} instructions per {unit} over {self.over}"
        )

    def passes(self, group: str, ours: float, base: float) -> bool:
        if self.ratios:
            return ours <= dict(self.ratios)[group] * base
        return ours - base <= self.limit


@dataclass(frozen=True)
class Suite:
    name: str
    unit: str  # what one of N is: "step", "request"
    default_n: int
    configs: tuple[Config, ...]
    compare_to: tuple[str, ...]  # roles every row is compared with
    targets: tuple[Target, ...] = ()
    # Differences and targets use the main thread's count, or all threads' (a server whose
    # work spreads over a thread pool, say).
    judge_all_threads: bool = False
    # Lines printed after the table, measured by running the function (e.g. natively).
    notes: Callable[[], list[str]] | None = None
    threads_note: str = "adds the watchdog, whose wall-clock polls valgrind's slowdown inflates"

    def judged(self, counts: Counts) -> float:
        return counts.all_threads if self.judge_all_threads else counts.main_thread

    @property
    def judged_label(self) -> str:
        return "all threads" if self.judge_all_threads else "main thread"


@dataclass(frozen=True)
class Counts:
    """Instructions of one run (or per unit): the main thread's and all threads'."""

    main_thread: float
    all_threads: float

    def __sub__(self, other: Counts) -> Counts:
        return Counts(self.main_thread - other.main_thread, self.all_threads - other.all_threads)

    def __truediv__(self, n: float) -> Counts:
        return Counts(self.main_thread / n, self.all_threads / n)


@dataclass
class Row:
    config: Config
    per_unit: Counts
    differences: dict[str, float | None] = field(default_factory=dict)  # judged count


@dataclass
class Verdict:
    target: Target
    group: str
    ours: float | None  # judged count per unit; None: not measured
    base: float | None

    @property
    def added(self) -> float | None:
        return None if self.ours is None or self.base is None else self.ours - self.base

    @property
    def ratio(self) -> float | None:
        return None if self.ours is None or not self.base else self.ours / self.base

    @property
    def passed(self) -> bool | None:
        if self.ours is None or self.base is None:
            return None
        return self.target.passes(self.group, self.ours, self.base)


def step_configs() -> tuple[Config, ...]:
    script = str(BENCH / "step_workload.py")
    names = {"loopwatch-hotpath": "loopwatch hot path"}
    return tuple(
        Config(f"{names.get(mode, mode)} {loop}", mode, loop, (script, mode, loop))
        for loop in ("asyncio", "uvloop")
        for mode in ("plain", "aiodebug", "loopwatch", "loopwatch-hotpath")
    )


def request_configs(modes: Sequence[str], page: str = "fast") -> tuple[Config, ...]:
    from request_workload import VALGRIND_SLOWDOWN

    script = str(BENCH / "request_workload.py")
    options = ("--time-scale", str(VALGRIND_SLOWDOWN), "--page", page)
    return tuple(
        Config(f"{mode} {loop}", mode, loop, (script, *options, mode, loop))
        for loop in ("asyncio", "uvloop")
        for mode in modes
    )


def watchdog_notes() -> list[str]:
    """The watchdog thread, left out of the request counts, measured natively per second."""
    lines = []
    for loop in ("asyncio", "uvloop"):
        command = [interpreter(), str(BENCH / "request_workload.py"), "watchdog", loop, "2"]
        done = subprocess.run(
            command, capture_output=True, text=True, env=workload_env(), cwd=ROOT, check=True
        )
        per_second, rate = (float(x) for x in done.stdout.split())
        lines.append(
            f"watchdog thread ({loop}, native): {per_second:,.0f} us CPU per second "
            f"({per_second / 1e4:.2f}% of a core) while serving {rate:,.0f} requests/s"
        )
    return lines


REQUEST_THREADS = "adds Django's worker threads; the watchdog is stopped, see below"
REQUEST_TARGET = Target("loopwatch", over="plain", ratios=(("asyncio", 1.02), ("uvloop", 1.03)))


def request_suite(
    name: str,
    modes: Sequence[str],
    page: str = "fast",
    compare_to: tuple[str, ...] = ("plain",),
    extra_targets: tuple[Target, ...] = (),
    notes: Callable[[], list[str]] | None = None,
) -> Suite:
    """A per-request suite: `modes` of request_workload.py on `page`, N=400, all threads."""
    return Suite(
        name=name,
        unit="request",
        default_n=400,
        configs=request_configs(modes, page),
        compare_to=compare_to,
        targets=(REQUEST_TARGET, *extra_targets),
        judge_all_threads=True,
        notes=notes,
        threads_note=REQUEST_THREADS,
    )


SUITES: dict[str, Suite] = {
    "steps": Suite(
        name="steps",
        unit="step",
        default_n=20_000,
        configs=step_configs(),
        compare_to=("plain", "aiodebug"),
        # Judged on the step's own cost; the full "loopwatch" rows show what the watchdog's
        # wall-clock polls add on top under valgrind.
        targets=(Target("loopwatch-hotpath", over="plain", limit=2_000),),
    ),
    # GET /fast/ through the test project's ASGI app, in-process. All threads: Django runs
    # part of every request in a worker thread. The workload stops the watchdog (see
    # request_workload.py); `notes` measures it natively.
    # aiodebug, the cheapest detector, beside them for reference (it has no target).
    "requests": request_suite(
        "requests",
        ("plain", "aiodebug", "loopwatch"),
        compare_to=("plain", "aiodebug"),
        notes=watchdog_notes,
    ),
    # GET /orm/async/: a page doing two queries (SQLite), the kind of page a site is made of.
    # The targets are judged on /fast/ above, where loopwatch weighs most; this shows what
    # the same additions weigh on a page that does some work.
    "requests-orm": request_suite("requests-orm", ("plain", "loopwatch"), page="orm"),
    # LOOPWATCH["TRACK_UNAWAITED"]: forgotten-await origin tracking, on top of everything.
    "requests-unawaited": request_suite(
        "requests-unawaited",
        ("plain", "loopwatch", "tracking"),
        compare_to=("plain", "loopwatch"),
        extra_targets=(Target("tracking", over="plain", ratios=REQUEST_TARGET.ratios),),
    ),
    # Each mode adds one part of loopwatch to the one before (request_workload.MODES): the
    # differences between consecutive rows are what each part costs.
    "requests-breakdown": request_suite("requests-breakdown", MODES),
}

# Measured in seconds or megabytes, not instructions: their own modules run them.
OTHER_COMMANDS = {"wrk": "wrk_bench", "memory": "memory_bench"}


# -- running ---------------------------------------------------------------------------------


def interpreter() -> str:
    """The real interpreter binary behind `sys.executable` (venvs link or copy a shim)."""
    return os.path.realpath(sys.executable)


def workload_env() -> dict[str, str]:
    """This checkout and the current environment's packages, for the bare interpreter."""
    paths = [str(ROOT), *site.getsitepackages()]
    if site.ENABLE_USER_SITE:
        paths.append(site.getusersitepackages())
    existing = os.environ.get("PYTHONPATH")
    if existing:
        paths.append(existing)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(paths)
    # Set and dict orders follow string hashes: a fixed seed makes runs repeat exactly.
    env["PYTHONHASHSEED"] = "0"
    return env


def valgrind() -> str | None:
    return shutil.which("valgrind")


def parse_collected(output: str) -> int:
    """The instruction count from callgrind's summary ("==PID== Collected : N")."""
    found = _COLLECTED.findall(output)
    if not found:
        raise BenchError("no 'Collected :' line in callgrind's output:\n" + output[-2000:])
    return int(found[-1])


def parse_thread_summary(text: str) -> int:
    """The "summary: N" line of one thread's callgrind output file."""
    match = _SUMMARY.search(text)
    if match is None:
        raise BenchError("no 'summary:' line in a callgrind output file")
    return int(match.group(1))


def count_instructions(command: Sequence[str], env: dict[str, str] | None = None) -> Counts:
    """Instructions one run of the interpreter on `command` executes, under callgrind."""
    binary = valgrind()
    if binary is None:
        raise BenchError("valgrind is not installed")
    with tempfile.TemporaryDirectory(prefix="loopwatch-bench-") as scratch:
        out = Path(scratch) / "callgrind.out"
        argv = [
            binary,
            "--tool=callgrind",
            "--separate-threads=yes",
            f"--callgrind-out-file={out}",
            interpreter(),
            *command,
        ]
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=env if env is not None else workload_env(),
            cwd=ROOT,
            check=False,
        )
        if done.returncode != 0:
            raise BenchError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")
        # Thread 1 is the one the interpreter started in: the workload's event loop.
        main_file = Path(f"{out}-01")
        if not main_file.exists():
            raise BenchError(f"callgrind wrote no per-thread file {main_file.name}")
        main_thread = parse_thread_summary(main_file.read_text(errors="replace"))
    return Counts(main_thread, parse_collected(done.stderr))


def per_unit(config: Config, n: int) -> Counts:
    """Instructions per unit of work: (run with N - run with 0) / N."""
    with_work = count_instructions([*config.command, str(n)])
    without = count_instructions([*config.command, "0"])
    return (with_work - without) / n


# -- the table -------------------------------------------------------------------------------


def compare(suite: Suite, measured: dict[str, Counts]) -> tuple[list[Row], list[Verdict]]:
    """Rows with their differences to the compared roles, and the targets' verdicts."""
    judged = {
        (c.role, c.group): suite.judged(measured[c.name])
        for c in suite.configs
        if c.name in measured
    }
    rows = []
    for config in suite.configs:
        if config.name not in measured:
            continue
        row = Row(config, measured[config.name])
        mine = suite.judged(row.per_unit)
        for role in suite.compare_to:
            other = judged.get((role, config.group))
            row.differences[role] = None if other is None else mine - other
        rows.append(row)
    groups = list(dict.fromkeys(c.group for c in suite.configs))
    verdicts = []
    for target in suite.targets:
        for group in groups:
            ours = judged.get((target.role, group))
            base = judged.get((target.over, group))
            verdicts.append(Verdict(target, group, ours, base))
    return rows, verdicts


def _number(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+,.0f}" if signed else f"{value:,.0f}"


def render(suite: Suite, n: int, rows: list[Row], verdicts: list[Verdict]) -> str:
    """The table as text: one row per configuration, then one line per target and group."""
    judged = "all" if suite.judge_all_threads else "main"
    other = "main" if suite.judge_all_threads else "all"
    headers = [
        "configuration",
        f"{judged}/{suite.unit}",
        *(f"vs {role}" for role in suite.compare_to),
        f"{other}/{suite.unit}",
    ]
    body = [
        [
            row.config.name,
            _number(suite.judged(row.per_unit)),
            *(_number(row.differences[role], signed=True) for role in suite.compare_to),
            _number(
                row.per_unit.main_thread if suite.judge_all_threads else row.per_unit.all_threads
            ),
        ]
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [headers, *body]) for i in range(len(headers))]

    def line(cells: Iterable[str]) -> str:
        cells = list(cells)
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    out = [
        f"{suite.name}: instructions per {suite.unit} (callgrind, N={n:,}, N=0 subtracted)",
        f"main: the main thread (the event loop); all: every thread ({suite.threads_note});"
        f" differences and targets: {judged}",
        "",
        line(headers),
        line("-" * width for width in widths),
        *(line(cells) for cells in body),
    ]
    for target in suite.targets:
        out += ["", f"target: {target.describe(suite.unit)} ({suite.judged_label})"]
        for verdict in verdicts:
            if verdict.target is target:
                status = {True: "PASS", False: "FAIL", None: "not measured"}[verdict.passed]
                added = _number(verdict.added, signed=True)
                ratio = ""
                if target.ratios and verdict.ratio is not None:
                    ratio = f"  {verdict.ratio:.3f}x"
                out.append(f"  {verdict.group:<10} {added:>8}{ratio}  {status}")
    if suite.notes is not None:
        out += ["", *suite.notes()]
    return "\n".join(out)


def as_json(suite: Suite, n: int, rows: list[Row], verdicts: list[Verdict]) -> str:
    return json.dumps(
        {
            "suite": suite.name,
            "unit": suite.unit,
            "n": n,
            "judged": suite.judged_label,
            "rows": [
                {
                    "configuration": r.config.name,
                    "main_thread": r.per_unit.main_thread,
                    "all_threads": r.per_unit.all_threads,
                    "vs": r.differences,
                }
                for r in rows
            ],
            "targets": [
                {
                    "target": v.target.describe(suite.unit),
                    "group": v.group,
                    "added": v.added,
                    "ratio": v.ratio,
                    "passed": v.passed,
                }
                for v in verdicts
            ],
        },
        indent=2,
    )


def run_suite(suite: Suite, n: int, only: Sequence[str] = ()) -> tuple[list[Row], list[Verdict]]:
    configs = [c for c in suite.configs if not only or c.name in only]
    unknown = set(only) - {c.name for c in suite.configs}
    if unknown:
        raise BenchError(f"no such configuration in {suite.name}: {', '.join(sorted(unknown))}")

    def measure(config: Config) -> Counts:
        counts = per_unit(config, n)
        print(
            f"  measured {config.name}: main thread {counts.main_thread:,.0f}, "
            f"all threads {counts.all_threads:,.0f} per {suite.unit}",
            file=sys.stderr,
        )
        return counts

    # Counted instructions do not depend on the machine's load: one run per core at a time.
    with ThreadPoolExecutor(max_workers=max(1, len(os.sched_getaffinity(0)))) as pool:
        found = list(pool.map(measure, configs))
    measured = {config.name: counts for config, counts in zip(configs, found, strict=True)}
    return compare(suite, measured)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in OTHER_COMMANDS:
        module = __import__(OTHER_COMMANDS[args_list[0]])
        module.main(args_list[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("suite", choices=[*sorted(SUITES), *OTHER_COMMANDS])
    parser.add_argument("--n", type=int, help="units of work per run (default: the suite's)")
    parser.add_argument(
        "--only", action="append", default=[], help="measure only this configuration (repeat)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = parser.parse_args(args_list)
    suite = SUITES[args.suite]
    n = args.n or suite.default_n
    if n <= 0:
        parser.error("--n must be > 0")
    try:
        rows, verdicts = run_suite(suite, n, args.only)
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    print(as_json(suite, n, rows, verdicts) if args.json else render(suite, n, rows, verdicts))
    return 1 if any(v.passed is False for v in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
