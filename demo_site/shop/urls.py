from django.urls import path

from demo_site.shop.catalogue import PAGES
from demo_site.shop.views.home import HomeView

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    *(path(page.route, page.view, name=page.name) for page in PAGES),
]
