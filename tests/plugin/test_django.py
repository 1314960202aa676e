"""A stall inside a Django view served through AsyncClient fails the test and names the view."""

from __future__ import annotations

import pytest

from tests.plugin.conftest import Project

pytest.importorskip("django")
pytest.importorskip("pytest_django")

SETTINGS = """
SECRET_KEY = "throwaway"
DEBUG = True
INSTALLED_APPS = ["django.contrib.contenttypes", "loopwatch"]
ROOT_URLCONF = "shop.urls"
DATABASES = {}
USE_TZ = True
"""

URLS = """
from django.urls import path

from shop import views

urlpatterns = [
    path("slow/", views.SlowView.as_view()),
    path("fast/", views.FastView.as_view()),
    path("broken/", views.BrokenView.as_view()),
]
"""

VIEWS = """
import asyncio
import time

from django.http import HttpResponse
from django.views import View


class SlowView(View):
    async def get(self, request):
        time.sleep(0.1)
        return HttpResponse("done")


class FastView(View):
    async def get(self, request):
        await asyncio.sleep(0.1)
        return HttpResponse("done")


class BrokenView(View):
    async def get(self, request):
        time.sleep(0.11)
        raise RuntimeError("the stall must still be reported")
"""

TESTS = """
import pytest
from django.test import AsyncClient


@pytest.mark.asyncio
async def test_slow_with_fixture(async_client):
    response = await async_client.get("/slow/")
    assert response.status_code == 200


@pytest.mark.asyncio
async def test_slow_with_django_client():
    response = await AsyncClient().get("/slow/")
    assert response.status_code == 200


@pytest.mark.asyncio
async def test_fast(async_client):
    response = await async_client.get("/fast/")
    assert response.status_code == 200


@pytest.mark.asyncio
async def test_broken_view_only_checked_for_500(async_client):
    async_client.raise_request_exception = False
    response = await async_client.get("/broken/")
    assert response.status_code == 500
"""


@pytest.fixture
def django_project(project: Project) -> Project:
    pytester = project.pytester
    pytester.mkpydir("shop")
    (pytester.path / "shop" / "settings.py").write_text(SETTINGS)
    (pytester.path / "shop" / "urls.py").write_text(URLS)
    (pytester.path / "shop" / "views.py").write_text(VIEWS)
    project.ini("DJANGO_SETTINGS_MODULE = shop.settings", "django_find_project = false")
    project.tests(TESTS)
    return project


def _views_line(project: Project, code: str) -> str:
    lines = (project.pytester.path / "shop" / "views.py").read_text().splitlines()
    return f"shop/views.py:{next(i for i, line in enumerate(lines, 1) if code in line)}"


def test_stall_in_a_view_fails_the_test_and_names_the_view(django_project: Project) -> None:
    """async_client and AsyncClient requests to a blocking view fail with view and line."""
    result = django_project.run("--loopwatch-threshold=0.05", "-k", "slow")
    result.assert_outcomes(failed=2, deselected=2)
    line = _views_line(django_project, "time.sleep(0.1)")
    for test in ("test_slow_with_fixture", "test_slow_with_django_client"):
        result.stdout.fnmatch_lines(
            [
                f"*_ {test} _*",
                "loopwatch: 1 step held the event loop for >= 0.050s (worst 0.1*s; *)",
                "  0.1*s [[]*[]] in view shop.views.SlowView (GET /slow/), during the test",
                f"    {line} in get: time.sleep(0.1)",
            ]
        )


def test_awaiting_view_passes(django_project: Project) -> None:
    """A view that awaits asyncio.sleep holds the loop for nothing: its test passes."""
    result = django_project.run("--loopwatch-threshold=0.05", "-k", "fast")
    result.assert_outcomes(passed=1, deselected=3)


def test_stall_in_a_view_that_becomes_a_500_still_fails(django_project: Project) -> None:
    """A view that stalls and then raises (a 500 the test accepts) still fails the test."""
    result = django_project.run("--loopwatch-threshold=0.05", "-k", "broken")
    result.assert_outcomes(failed=1, deselected=3)
    result.stdout.fnmatch_lines(
        [
            "*in view shop.views.BrokenView (GET /broken/), during the test",
            f"    {_views_line(django_project, 'time.sleep(0.11)')} in get: time.sleep(0.11)",
        ]
    )


def test_django_setting_alone_does_not_turn_it_on(django_project: Project) -> None:
    """LOOPWATCH in settings.py does not enable the plugin: pytest's own options do."""
    settings = django_project.pytester.path / "shop" / "settings.py"
    settings.write_text(SETTINGS + 'LOOPWATCH = {"THRESHOLD": 0.05}\n')
    result = django_project.run("-k", "slow")
    result.assert_outcomes(passed=2, deselected=2)
