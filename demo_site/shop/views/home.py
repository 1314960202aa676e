from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from demo_site.shop.catalogue import PAGES


class HomeView(View):
    """Every view of the demo, correct ones and mistakes, with a link to loopwatch's page."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        rows = [
            {"page": page, "url": reverse(page.name, kwargs=page.sample_kwargs)} for page in PAGES
        ]
        return render(
            request,
            "shop/home.html",
            {
                "correct": [row for row in rows if not row["page"].mistake],
                "mistakes": [row for row in rows if row["page"].mistake],
            },
        )
