"""`manage.py check --tag loopwatch`: the guide's mistakes found in the code, with file:line."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.checks import CheckMessage, run_checks
from django.core.handlers.wsgi import WSGIHandler
from django.test import override_settings

from loopwatch import wsgi_warning
from tests.mistakes.conftest import VIEWS_FILE, marker_line, view

ROOT = Path(__file__).resolve().parents[2]
CODE_VIEWS_FILE = Path(__file__).resolve().parent / "code_views.py"
WSGI_ONLY = "tests.mistakes.wsgi_only.wsgi.application"


def loopwatch_checks(urlconf: str) -> list[CheckMessage]:
    with override_settings(ROOT_URLCONF=urlconf):
        return run_checks(tags=["loopwatch"])


def found(messages: list[CheckMessage]) -> set[tuple[str | None, object, str]]:
    """(id, view, file:line) of each message."""
    return {(m.id, m.obj, str(m.msg).split(": ", 1)[0]) for m in messages}


def code_view(name: str) -> str:
    return f"tests.mistakes.code_views.{name}"


def at(marker: str) -> str:
    return f"tests/mistakes/code_views.py:{marker_line(marker, CODE_VIEWS_FILE)}"


def class_line(name: str) -> str:
    """file:line of `class name(` in either views module."""
    for path in (VIEWS_FILE, CODE_VIEWS_FILE):
        lines = path.read_text().splitlines()
        for number, text in enumerate(lines, 1):
            if text.startswith(f"class {name}("):
                return f"{path.relative_to(ROOT)}:{number}"
    raise LookupError(name)


def view_path(name: str) -> str:
    return code_view(name) if "code_views.py" in class_line(name) else view(name)


def test_each_mistake_is_found_with_its_id_view_and_line() -> None:
    """Each sync parent awaited and each blocking call is one warning at its own line."""
    blocking = code_view("BlockingCallsView")
    assert found(loopwatch_checks("tests.mistakes.static_urls")) == {
        ("loopwatch.W002", code_view("GuideTemplateView"), at("SUPER_GET_LINE")),
        ("loopwatch.W002", code_view("GuideDetailView"), at("SUPER_DETAIL_LINE")),
        ("loopwatch.W003", blocking, at("BLOCK_SLEEP_LINE")),
        ("loopwatch.W003", blocking, at("BLOCK_REQUESTS_LINE")),
        ("loopwatch.W003", blocking, at("BLOCK_URLOPEN_LINE")),
        ("loopwatch.W003", blocking, at("BLOCK_OPEN_LINE")),
        ("loopwatch.W003", blocking, at("BLOCK_SUBPROCESS_LINE")),
        ("loopwatch.W003", blocking, at("BLOCK_QS_FOR_LINE")),
        ("loopwatch.W003", blocking, at("BLOCK_QS_COMPREHENSION_LINE")),
        ("loopwatch.W003", blocking, at("BLOCK_QS_LIST_LINE")),
        ("loopwatch.W003", blocking, at("BLOCK_QS_FIRST_LINE")),
    }


def test_each_awaited_parent_is_said_to_fail_the_way_it_does() -> None:
    """TemplateView.get returns a response (TypeError when awaited); DetailView.get queries
    first, which Django refuses on the loop (SynchronousOnlyOperation)."""
    messages = loopwatch_checks("tests.mistakes.static_urls")
    by_view = {m.obj: str(m.msg) for m in messages if m.id == "loopwatch.W002"}
    template, detail = (
        by_view[code_view("GuideTemplateView")],
        by_view[code_view("GuideDetailView")],
    )
    assert "TypeError" in template
    assert "SynchronousOnlyOperation" not in template
    assert "SynchronousOnlyOperation" in detail
    assert "TypeError" not in detail


def test_every_finding_has_a_hint() -> None:
    """Each finding says what to do about it."""
    messages = loopwatch_checks("tests.mistakes.static_urls")
    assert messages
    assert all(m.hint for m in messages)
    sleep = next(m for m in messages if str(m.msg).startswith(at("BLOCK_SLEEP_LINE")))
    assert "asyncio.sleep" in str(sleep.hint)


def test_correct_views_produce_no_finding() -> None:
    """Offloaded blocking work, async ORM calls, awaited coroutines: no finding at all."""
    assert loopwatch_checks("tests.mistakes.good_urls") == []


@override_settings(WSGI_APPLICATION=WSGI_ONLY)
def test_async_views_reachable_only_through_wsgi_are_found() -> None:
    """With wsgi.py and no ASGI application, each async view (and no sync one) is W004."""
    wsgi_only = {
        (m.id, m.obj, str(m.msg).split(": ", 1)[0])
        for m in loopwatch_checks("tests.mistakes.good_urls")
    }
    names = ["OffloadedView", "AsyncTemplateView", "AsyncDispatchView", "AwaitedView"]
    names += ["HopsView", "OrmHopsView", "ListHopView"]
    assert wsgi_only == {("loopwatch.W004", view_path(name), class_line(name)) for name in names}


@override_settings(WSGI_APPLICATION="tests.testproject.wsgi.application")
def test_no_wsgi_finding_when_an_asgi_application_exists() -> None:
    """A project with asgi.py next to its wsgi setting is not WSGI-only."""
    assert loopwatch_checks("tests.mistakes.good_urls") == []


def run_check_command(urlconf: str, bad_setting: bool) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["DJANGO_SETTINGS_MODULE"] = "tests.mistakes.check_settings"
    env["LOOPWATCH_CHECK_URLCONF"] = urlconf
    if bad_setting:
        env["LOOPWATCH_CHECK_BAD_SETTING"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "django", "check", "--tag", "loopwatch"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("urlconf", "bad_setting", "code", "shown"),
    [
        ("tests.mistakes.static_urls", False, 0, ["loopwatch.W002", at("SUPER_GET_LINE")]),
        ("tests.mistakes.static_urls", True, 1, ["loopwatch.E001", "loopwatch.W003"]),
        ("tests.mistakes.good_urls", False, 0, ["System check identified no issues"]),
    ],
    ids=["warnings", "warnings-and-an-error", "good"],
)
def test_check_command_fails_only_on_errors(
    urlconf: str, bad_setting: bool, code: int, shown: list[str]
) -> None:
    """`check --tag loopwatch` exits 0 with only warnings, 1 as soon as there is an error."""
    result = run_check_command(urlconf, bad_setting)
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    for text in shown:
        assert text in output


@pytest.fixture
def fresh_wsgi_warnings() -> Iterator[None]:
    wsgi_warning.reset()
    yield
    wsgi_warning.reset()


def serve_wsgi(handler: WSGIHandler, path: str) -> str:
    environ: dict[str, object] = {"PATH_INFO": path, "wsgi.input": BytesIO()}
    setup_testing_defaults(environ)
    statuses: list[str] = []
    body = b"".join(handler(environ, lambda status, headers: statuses.append(status)))
    assert body
    return statuses[0]


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.mistakes.good_urls")
def test_wsgi_serving_an_async_view_warns_once_naming_it(
    fresh_wsgi_warnings: None, caplog: pytest.LogCaptureFixture
) -> None:
    """The first async view served by a WSGI handler is named in one warning, only once."""
    handler = WSGIHandler()
    with caplog.at_level(logging.WARNING, logger="loopwatch"):
        assert serve_wsgi(handler, "/sync/").startswith("200")
        before = [r.getMessage() for r in caplog.records if "the async view" in r.getMessage()]
        for _ in range(3):
            assert serve_wsgi(handler, "/hops/").startswith("200")
    assert before == []
    named = [r.getMessage() for r in caplog.records if "the async view" in r.getMessage()]
    assert len(named) == 1
    assert view("HopsView") in named[0]
    assert "WSGIHandler" in named[0]
