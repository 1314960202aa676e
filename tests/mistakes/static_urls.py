"""URLconf for the static checks: views with mistakes seen without running, and good views."""

from django.urls import include, path

from tests.mistakes import code_views

urlpatterns = [
    path("template/", code_views.GuideTemplateView.as_view()),
    path("detail/<int:pk>/", code_views.GuideDetailView.as_view()),
    path("blocking/", code_views.BlockingCallsView.as_view()),
    path("good/", include("tests.mistakes.good_urls")),
]
