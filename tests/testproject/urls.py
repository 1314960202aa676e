from django.urls import include, path

from tests.testproject import views

urlpatterns = [
    path("fast/", views.FastView.as_view()),
    path("sleep/", views.SleepView.as_view()),
    path("wait/", views.WaitView.as_view()),
    path("arrived/", views.ArrivedView.as_view()),
    path("cpu/", views.CpuView.as_view()),
    path("stream/", views.StreamView.as_view()),
    path("urllib/", views.UrllibView.as_view()),
    path("orm/sync/", views.SyncOrmView.as_view()),
    path("orm/async/", views.AsyncOrmView.as_view()),
    path("sync/", views.sync_view),
    path("mistakes/", include("tests.testproject.mistake_urls")),
    path("loopwatch/", include("loopwatch.urls")),
]
