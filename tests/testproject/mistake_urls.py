"""The Common Mistakes that show at run time, and their correct twins (under "mistakes/")."""

from django.urls import path

from tests.testproject import mistake_views as views

urlpatterns = [
    path("forgotten-await/", views.ForgottenAwaitView.as_view()),
    path("kept-unawaited/", views.KeptUnawaitedView.as_view()),
    path("forgotten-orm-await/", views.ForgottenOrmAwaitView.as_view()),
    path("lost-exception/", views.LostExceptionView.as_view()),
    path("awaited/", views.AwaitedView.as_view()),
    path("hops/", views.HopsView.as_view()),
    path("orm-hops/", views.OrmHopsView.as_view()),
    path("list-hop/", views.ListHopView.as_view()),
    path("sync-hop/", views.sync_hop_view),
]
