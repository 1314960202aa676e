"""URLs of loopwatch's page, stalls.json and metrics: include them under any prefix.

# urls.py
urlpatterns = [..., path("loopwatch/", include("loopwatch.urls"))]
"""

from django.urls import path

from loopwatch import views

app_name = "loopwatch"

urlpatterns = [
    path("", views.page, name="page"),
    path("stalls.json", views.stalls_json, name="stalls_json"),
    path("metrics", views.metrics, name="metrics"),
]
