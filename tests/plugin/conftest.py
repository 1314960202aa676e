"""Black-box tests of the pytest plugin: each runs a throwaway test suite in a fresh pytest
process (`pytester.runpytest_subprocess`) and reads its output, exit code and files.

A fresh process per run is the point: the plugin is loaded through its `pytest11` entry point,
installs process-wide patches, and must leave nothing behind, which only a separate process
shows honestly.
"""

from __future__ import annotations

import textwrap

import pytest

# Helpers every throwaway suite can import: a CPU loop that holds the loop without sleeping.
HELPERS = """
import time


def busy(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass
"""


class Project:
    """A throwaway suite inside pytester's directory, run with the plugin's options."""

    def __init__(self, pytester: pytest.Pytester) -> None:
        self.pytester = pytester
        pytester.makepyfile(helpers=HELPERS)
        self.ini()

    def ini(self, *lines: str, asyncio_mode: str = "strict") -> None:
        body = "\n".join(
            [
                "[pytest]",
                f"asyncio_mode = {asyncio_mode}",
                "asyncio_default_fixture_loop_scope = function",
                *lines,
            ]
        )
        self.pytester.makeini(body)

    def tests(self, source: str, name: str = "test_suite") -> None:
        self.pytester.makepyfile(**{name: textwrap.dedent(source)})

    def where(self, code: str, name: str = "test_suite") -> str:
        """`file:line` of the (first) line holding `code`, as loopwatch prints it."""
        lines = (self.pytester.path / f"{name}.py").read_text().splitlines()
        number = next(i for i, line in enumerate(lines, 1) if code in line)
        return f"{name}.py:{number}"

    def run(self, *args: str) -> pytest.RunResult:
        return self.pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=120)


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Project:
    # pytest-django exported this suite's own settings module; the throwaway suites bring
    # their own (or none).
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    return Project(pytester)
