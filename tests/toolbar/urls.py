from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path

from tests.testproject.urls import urlpatterns as project_urlpatterns
from tests.toolbar import views

urlpatterns = [
    path("toolbar/blocking/", views.BlockingPage.as_view()),
    path("toolbar/calm/", views.CalmPage.as_view()),
    path("toolbar/hopping/", views.HoppingPage.as_view()),
    path("__debug__/", include("debug_toolbar.urls")),
    *project_urlpatterns,
    # uvicorn serves no static files: the toolbar's JavaScript and CSS come from here (DEBUG).
    *staticfiles_urlpatterns(),
]
