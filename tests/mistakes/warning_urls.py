"""Only views whose findings are warnings (blocking calls): `check` must still exit 0."""

from django.urls import path

from tests.testproject import mistake_views as views

urlpatterns = [path("blocking/", views.BlockingCallsView.as_view())]
