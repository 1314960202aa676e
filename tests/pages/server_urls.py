"""The test project's URLs plus a view that stalls on any path, so a hostile path is recorded."""

from __future__ import annotations

import time

from django.http import HttpRequest, HttpResponse
from django.urls import re_path
from django.views import View

from tests.testproject.urls import urlpatterns as project_urlpatterns


class AnyPathSleepView(View):
    async def get(self, request: HttpRequest, rest: str) -> HttpResponse:
        time.sleep(0.1)  # ANY_PATH_SLEEP_LINE
        return HttpResponse(f"slept on {len(rest)} characters")


urlpatterns = [
    *project_urlpatterns,
    re_path(r"^anypath/(?P<rest>.*)$", AnyPathSleepView.as_view()),
]
