"""Correct async views only: the static checks must find nothing here."""

from django.urls import path

from tests.mistakes import code_views
from tests.testproject import mistake_views as views

urlpatterns = [
    path("offloaded/", code_views.OffloadedView.as_view()),
    path("template/", code_views.AsyncTemplateView.as_view()),
    path("dispatch/", code_views.AsyncDispatchView.as_view()),
    path("awaited/", views.AwaitedView.as_view()),
    path("hops/", views.HopsView.as_view()),
    path("orm-hops/", views.OrmHopsView.as_view()),
    path("list-hop/", views.ListHopView.as_view()),
    path("sync/", views.sync_hop_view),
]
