"""The one shared HTTP client the correct views use to reach the ratings API."""

import asyncio

import httpx

from demo_site.shop import standin_api

_client: httpx.AsyncClient | None = None


async def client() -> httpx.AsyncClient:
    """The process-wide ``httpx.AsyncClient`` for the ratings API, built on first use.

    Building a client builds a TLS context, which reads the CA bundle from disk (20-50 ms here):
    the guide's ``async with httpx.AsyncClient()`` pays that on the event loop in every request.
    Build it once, in a worker thread, and reuse its connection pool.
    """
    global _client
    if _client is None:
        built = await asyncio.to_thread(
            httpx.AsyncClient, base_url=standin_api.base_url(), timeout=5.0
        )
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
