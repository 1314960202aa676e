"""The gate: the page, stalls.json and metrics answer only to DEBUG, INTERNAL_IPS or the token."""

from __future__ import annotations

import pytest
from django.test import Client
from pytest_django import Settings

from loopwatch.access import address_listed, bearer_token, token_matches

from .conftest import OUTSIDER

URLS = ["/loopwatch/", "/loopwatch/stalls.json", "/loopwatch/metrics"]
TOKEN = "test-token-0123456789abcdef"  # tests/testproject/settings.py


@pytest.fixture
def closed(settings: Settings) -> Settings:
    """Production-like: DEBUG off, nobody listed, the token configured."""
    settings.DEBUG = False
    settings.INTERNAL_IPS = []
    settings.LOOPWATCH = {"TOKEN": TOKEN, "LOG": False}
    return settings


@pytest.mark.parametrize("url", URLS)
def test_unlisted_client_gets_404(client: Client, closed: Settings, url: str) -> None:
    """With DEBUG off, a client that is not listed and has no token sees a plain 404."""
    assert client.get(url, REMOTE_ADDR=OUTSIDER).status_code == 404


@pytest.mark.parametrize("url", URLS)
def test_internal_ips_open_every_endpoint(client: Client, closed: Settings, url: str) -> None:
    """A client whose address is in INTERNAL_IPS is answered."""
    closed.INTERNAL_IPS = [OUTSIDER]
    assert client.get(url, REMOTE_ADDR=OUTSIDER).status_code == 200


def test_internal_ips_compare_addresses_not_spellings(client: Client, closed: Settings) -> None:
    """An IPv6 client matches INTERNAL_IPS however the address is written."""
    closed.INTERNAL_IPS = ["::1"]
    response = client.get("/loopwatch/stalls.json", REMOTE_ADDR="0:0:0:0:0:0:0:1")
    assert response.status_code == 200


@pytest.mark.parametrize("url", URLS)
def test_debug_opens_every_endpoint(client: Client, closed: Settings, url: str) -> None:
    """With DEBUG on, any client is answered (a development server)."""
    closed.DEBUG = True
    assert client.get(url, REMOTE_ADDR=OUTSIDER).status_code == 200


def test_open_in_debug_off_keeps_debug_closed(client: Client, closed: Settings) -> None:
    """OPEN_IN_DEBUG=False makes DEBUG alone not enough."""
    closed.DEBUG = True
    closed.LOOPWATCH = {"TOKEN": TOKEN, "OPEN_IN_DEBUG": False}
    assert client.get("/loopwatch/", REMOTE_ADDR=OUTSIDER).status_code == 404


@pytest.mark.parametrize("url", URLS)
def test_token_opens_every_endpoint(client: Client, closed: Settings, url: str) -> None:
    """`Authorization: Bearer <TOKEN>` is answered from any address."""
    response = client.get(url, REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"Basic {TOKEN}",
        TOKEN,
        "Bearer ",
        "Bearer \u00e9t\u00e9-0123456789abcdef",
    ],
)
@pytest.mark.parametrize("url", URLS)
def test_wrong_token_gets_404(
    client: Client, closed: Settings, url: str, authorization: str
) -> None:
    """Any other Authorization header is treated as none at all."""
    response = client.get(url, REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 404


def test_no_token_configured_never_opens(client: Client, closed: Settings) -> None:
    """Without a configured TOKEN no bearer header opens the endpoints, not even an empty one."""
    closed.LOOPWATCH = {"LOG": False}
    for authorization in ["Bearer ", "Bearer None", "Bearer null", f"Bearer {TOKEN}"]:
        response = client.get(
            "/loopwatch/metrics", REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION=authorization
        )
        assert response.status_code == 404, authorization


def test_bearer_scheme_is_case_insensitive() -> None:
    """`bearer` and `BEARER` name the same scheme (RFC 7235), the token itself is exact."""
    assert token_matches(f"bearer {TOKEN}", TOKEN)
    assert token_matches(f"BEARER {TOKEN}", TOKEN)
    assert not token_matches(f"Bearer {TOKEN.upper()}", TOKEN)
    assert bearer_token("Bearer") is None


def test_custom_internal_ips_container_is_honoured() -> None:
    """A container whose `__contains__` matches a network works as it does for Django itself."""

    class Everyone(list[str]):
        def __contains__(self, address: object) -> bool:
            return True

    assert address_listed(OUTSIDER, Everyone())
    assert not address_listed(OUTSIDER, ["127.0.0.1", "not-an-address"])
    assert not address_listed(None, ["127.0.0.1"])
