"""The guide's async class-based views, written so that they never hold the event loop."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views import View
from django.views.generic import DetailView, TemplateView

from demo_site.shop import ratings
from demo_site.shop.models import Book


class AsyncGetView(View):
    """The guide's basic example: the wait hands the loop to other requests."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        await asyncio.sleep(0.2)
        return HttpResponse("Async GET response")


class AboutView(TemplateView):
    """The guide's TemplateView example, fixed: TemplateView's own get() is sync, so an async
    get() must not await it; building the context and the response does no I/O, so it is
    called directly and Django renders the TemplateResponse off the loop."""

    template_name = "shop/about.html"

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        await asyncio.sleep(0.1)
        return self.render_to_response(self.get_context_data(**kwargs))


class BookDetailView(DetailView):
    """The guide's DetailView example, fixed: DetailView.get() runs the query synchronously,
    so the async get() fetches the object with the async ORM and renders it itself."""

    model = Book
    template_name = "shop/book_detail.html"

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            self.object = await self.get_queryset().aget(pk=self.kwargs["pk"])
        except Book.DoesNotExist:
            raise Http404("No such book") from None
        rating = await ratings.fetch_rating(self.object.isbn)
        return self.render_to_response(self.get_context_data(object=self.object, rating=rating))


class BookListView(View):
    """Async ORM: ``acount()`` and ``async for`` over a queryset."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        count = await Book.objects.acount()
        books = [book async for book in Book.objects.order_by("title")]
        return render(request, "shop/book_list.html", {"books": books, "count": count})


class AsyncDBView(View):
    """The guide's ``sync_to_async(list)(queryset)``: the query runs in a worker thread."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        books = await sync_to_async(list)(Book.objects.all())
        return HttpResponse(f"Books: {len(books)}")


class ExternalApiView(View):
    """The guide's external API call with httpx.AsyncClient, against the local stand-in."""

    async def get(self, request: HttpRequest) -> JsonResponse:
        response = await (await ratings.client()).get("/status")
        return JsonResponse(response.json())


class DashboardView(View):
    """The guide's real-world example: the API call and the query run at the same time."""

    async def get(self, request: HttpRequest) -> JsonResponse:
        api_client = await ratings.client()
        api_response, books = await asyncio.gather(
            api_client.get("/status"), sync_to_async(list)(Book.objects.all())
        )
        return JsonResponse({"api_status": api_response.status_code, "books": len(books)})


class ParallelRatingsView(View):
    """The guide's parallel-tasks tip: one API call per book, all in flight at once."""

    async def get(self, request: HttpRequest) -> JsonResponse:
        isbns = [isbn async for isbn in Book.objects.values_list("isbn", flat=True)]
        found = await asyncio.gather(*(ratings.fetch_rating(isbn) for isbn in isbns))
        return JsonResponse({"ratings": found})


class AsyncFormView(View):
    """The guide's async POST example (GET shows the form)."""

    async def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "shop/form.html")

    async def post(self, request: HttpRequest) -> HttpResponse:
        await asyncio.sleep(0.1)
        return HttpResponse("Form submitted async")


class AsyncDispatchView(View):
    """The guide's async dispatch(): it may await the handler because the handler is async."""

    async def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = await super().dispatch(request, *args, **kwargs)
        response["X-Dispatch"] = "async"
        return response

    async def get(self, request: HttpRequest) -> HttpResponse:
        await asyncio.sleep(0.05)
        return HttpResponse("Dispatched asynchronously")


class BookStreamView(View):
    """Streaming: a StreamingHttpResponse fed by an async iterator over the async ORM."""

    async def get(self, request: HttpRequest) -> StreamingHttpResponse:
        async def lines() -> AsyncIterator[str]:
            async for book in Book.objects.order_by("title"):
                await asyncio.sleep(0.01)
                yield f"{book}\n"

        return StreamingHttpResponse(lines(), content_type="text/plain; charset=utf-8")
