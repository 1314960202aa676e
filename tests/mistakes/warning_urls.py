"""Only views whose findings are warnings (blocking calls): `check` must still exit 0."""

from django.urls import path

from tests.mistakes import code_views

urlpatterns = [path("blocking/", code_views.BlockingCallsView.as_view())]
