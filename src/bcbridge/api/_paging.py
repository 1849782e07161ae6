"""Cursor pagination and conditional GETs of the REST API.

A cursor is the sort key of the last row sent (its ordering value and primary key), so the
next page is ``WHERE (value, pk) > (last value, last pk)``: rows inserted or changed while a
client pages never shift the pages (no OFFSET). It is opaque (base64url JSON) and bound to
the ``orderby`` it was made for.

List and record answers carry a weak ``ETag`` (a hash of the body); a request whose
``If-None-Match`` lists it gets 304 Not Modified with no body (RFC 9110 §13.1.2, §15.4.5).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime
from typing import Any

from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse

from bcbridge.api._json import dumps
from bcbridge.api.problems import Problem

__all__ = ["decode_cursor", "encode_cursor", "json_response", "keyset"]


def encode_cursor(orderby: str, value: Any, pk: int) -> str:
    if isinstance(value, datetime):
        value = {"dt": value.isoformat()}
    raw = json.dumps([orderby, value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, orderby: str) -> tuple[Any, int]:
    """``(value, pk)`` of a cursor made for ``orderby``.

    Raises:
        Problem: 400 ``invalid_cursor``.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        made_for, value, pk = json.loads(raw)
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["dt"])
        if not isinstance(pk, int) or isinstance(pk, bool):
            raise ValueError("pk")
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError) as exc:
        raise Problem(400, "invalid_cursor", "This cursor was not made by this API; start again without it.") from exc
    if made_for != orderby:
        raise Problem(
            400, "invalid_cursor", f"This cursor belongs to orderby={made_for or '(default)'}; keep the same orderby."
        )
    return value, pk


def keyset(query: QuerySet[Any], column: str | None, descending: bool, after: tuple[Any, int] | None) -> QuerySet[Any]:
    """``query`` ordered by ``(column, pk)`` (or pk alone), starting after the cursor's row."""
    if column is None:
        if after is not None:
            query = query.filter(pk__lt=after[1]) if descending else query.filter(pk__gt=after[1])
        return query.order_by("-pk" if descending else "pk")
    if after is not None:
        value, pk = after
        op = "lt" if descending else "gt"
        if value is None:  # nulls sort first ascending in our order_by(nulls_first)
            tail = Q(**{f"{column}__isnull": True, f"pk__{op}": pk})
            query = query.filter(tail | Q(**{f"{column}__isnull": False})) if not descending else query.filter(tail)
        else:
            later = Q(**{f"{column}__{op}": value}) | Q(**{column: value, f"pk__{op}": pk})
            if descending:
                later |= Q(**{f"{column}__isnull": True})
            query = query.filter(later)
    expression = F(column).desc(nulls_last=True) if descending else F(column).asc(nulls_first=True)
    return query.order_by(expression, "-pk" if descending else "pk")


def _weak_etag(body: bytes) -> str:
    return f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'


def _matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    opaque = etag[2:]
    return any(tag.strip().removeprefix("W/") == opaque for tag in header.split(","))


def json_response(request: HttpRequest, data: Any, status: int = 200) -> HttpResponse:
    """JSON answer with a weak ETag; 304 when ``If-None-Match`` matches (GET only)."""
    body = dumps(data)
    etag = _weak_etag(body)
    if request.method in ("GET", "HEAD") and _matches(request.headers.get("If-None-Match", ""), etag):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, status=status, content_type="application/json")
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response
