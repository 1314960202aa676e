"""The one shared HTTP client the correct views use to reach the ratings API."""

import asyncio
import importlib
import importlib.util

import httpx

from demo_site.shop import standin_api

_client: httpx.AsyncClient | None = None


def _build_client() -> httpx.AsyncClient:
    """A client whose first request does no one-off work on the event loop.

    httpx defers work to its first use, and loopwatch caught each piece as a stall in this
    demo's first requests: building the TLS context reads the CA bundle from disk (20-50 ms),
    the first request imports anyio's asyncio backend (~90 ms) and probes the import path for
    sniffio. This runs in a worker thread, so all of it happens off the loop, once.
    """
    importlib.import_module("anyio._backends._asyncio")
    importlib.import_module("httpcore._backends.anyio")
    importlib.util.find_spec("sniffio")
    return httpx.AsyncClient(base_url=standin_api.base_url(), timeout=5.0)


async def client() -> httpx.AsyncClient:
    """The process-wide ``httpx.AsyncClient`` for the ratings API, built on first use.

    The guide's ``async with httpx.AsyncClient()`` pays the set-up above on the event loop in
    every request, and opens new connections each time; one shared client pays it once.
    """
    global _client
    if _client is None:
        built = await asyncio.to_thread(_build_client)
        if _client is None:
            _client = built
        else:  # another request built one while this one waited
            await built.aclose()
    return _client


async def fetch_rating(isbn: str) -> dict[str, object]:
    """The ratings API's answer for one book."""
    response = await (await client()).get("/ratings", params={"isbn": isbn})
    response.raise_for_status()
    rating: dict[str, object] = response.json()
    return rating
