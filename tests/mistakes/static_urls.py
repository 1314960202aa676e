"""URLconf for the static checks: views with mistakes seen without running, and good views."""

from django.urls import include, path

from tests.testproject import mistake_views as views

urlpatterns = [
    path("template/", views.GuideTemplateView.as_view()),
    path("detail/<int:pk>/", views.GuideDetailView.as_view()),
    path("blocking/", views.BlockingCallsView.as_view()),
    path("good/", include("tests.mistakes.good_urls")),
]
