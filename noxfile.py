"""The test matrix: Django 5.2 and 4.2 (each on stock asyncio and uvloop, inside the suite),
plus lint and type checks.

    nox                      # everything, as `make test` and CI run it
    nox -s "tests(django='4.2')" -- -k orm
"""

from __future__ import annotations

import nox

nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True

DJANGO_SERIES = {"5.2": "django>=5.2,<5.3", "4.2": "django>=4.2,<4.3"}


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff and mypy (strict) over the package."""
    session.install("-e", ".[lint]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")


@nox.session(python="3.11")
@nox.parametrize("django", list(DJANGO_SERIES))
def tests(session: nox.Session, django: str) -> None:
    """The whole suite against one Django series."""
    session.install("-e", ".[dev]", DJANGO_SERIES[django])
    session.run("python", "-m", "pytest", *session.posargs)
