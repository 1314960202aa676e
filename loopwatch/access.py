"""Who may read loopwatch's pages: the gate in front of the page, stalls.json and metrics.

    >>> require_access(request)      # raises Http404 unless the client may see the data

A request is let through when `DEBUG` is on (and `LOOPWATCH["OPEN_IN_DEBUG"]` is left on),
when its client address (`REMOTE_ADDR`) is in `INTERNAL_IPS`, or when it carries
`Authorization: Bearer <LOOPWATCH["TOKEN"]>`. Anyone else gets the same 404 as for a URL
that does not exist, so the endpoints do not reveal that loopwatch is installed.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Collection

from django.conf import settings
from django.http import Http404, HttpRequest

from loopwatch.conf import get_config


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (scheme is case-insensitive)."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def token_matches(authorization: str | None, expected: str | None) -> bool:
    """True when the header carries the configured token; no token configured opens nothing."""
    if not expected:
        return False
    given = bearer_token(authorization)
    if given is None:
        return False
    # Constant-time on bytes: compare_digest rejects non-ASCII str, and a timing
    # difference would let a client guess the token one character at a time.
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def address_listed(address: str | None, listed: Collection[str]) -> bool:
    """True when `address` is in `listed`, as `INTERNAL_IPS` is read elsewhere in Django.

    Plain membership first, so custom containers (a class whose `__contains__` matches a
    whole network) work as they do for the debug toolbar; then as IP addresses, so that
    `::1` and `0:0:0:0:0:0:0:1` are the same client.
    """
    if not address:
        return False
    if address in listed:
        return True
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in listed:
        try:
            if ipaddress.ip_address(entry) == client:
                return True
        except ValueError:
            continue
    return False


def is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def has_access(request: HttpRequest) -> bool:
    config = get_config()
    if settings.DEBUG and config.open_in_debug:
        return True
    if address_listed(request.META.get("REMOTE_ADDR"), settings.INTERNAL_IPS):
        return True
    return token_matches(request.headers.get("Authorization"), config.token)


def require_access(request: HttpRequest) -> None:
    """Raise Http404 unless `has_access(request)`."""
    if not has_access(request):
        raise Http404("Not found")
