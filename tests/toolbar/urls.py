from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path

from tests.testproject import views as project_views
from tests.toolbar import views

urlpatterns = [
    path("fast/", project_views.FastView.as_view()),
    path("toolbar/blocking/", views.BlockingPage.as_view()),
    path("toolbar/calm/", views.CalmPage.as_view()),
    path("__debug__/", include("debug_toolbar.urls")),
    # uvicorn serves no static files: the toolbar's JavaScript and CSS come from here (DEBUG).
    *staticfiles_urlpatterns(),
]
