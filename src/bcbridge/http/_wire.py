"""Wire details of BCClient: JSON encoding, URL redaction for logs, port defaults."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import orjson

from bcbridge.http.urls import encode_query

__all__ = ["dumps", "redact_url", "version"]

#: Query parameters whose values never reach a log (lower case; ``*secret*`` and
#: ``*password*`` too).
_SECRET_PARAMS = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "code",
        "client_secret",
        "sig",
        "signature",
        "token",
        "key",
        "apikey",
        "api_key",
        "clientstate",
        "validationtoken",
        "assertion",
    }
)


def version() -> str:
    try:
        from importlib.metadata import version

        return version("bcbridge")
    except Exception:  # not installed (running from a checkout)
        return "0"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # A JSON number with the exact digits: BC decimals are numbers, not strings (§7.2).
        return orjson.Fragment(str(value))
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def dumps(body: Any) -> bytes:
    """JSON for BC: datetimes in UTC with ``Z`` (naive ones are taken as UTC), UUIDs as
    strings, Decimals as exact numbers (docs/bc/7-entities.md §7.2)."""
    return orjson.dumps(body, default=_default, option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC)


def redact_url(url: str) -> str:
    """``url`` with the values of secret-looking query parameters replaced by ``***``."""
    if "?" not in url:
        return url
    head, _, query = url.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(_is_secret(name) for name, _ in pairs):
        return url
    clean = {name: ("***" if _is_secret(name) else value) for name, value in pairs}
    return f"{head}?{encode_query(clean)}"


def _is_secret(name: str) -> bool:
    name = name.lower()
    return name in _SECRET_PARAMS or "secret" in name or "password" in name
