from django.urls import include, path

urlpatterns = [
    path("", include("demo_site.shop.urls")),
    path("loopwatch/", include("loopwatch.urls")),
]
