"""Error responses in the exact shapes BC (OData) and Entra ID (OAuth) use."""

from __future__ import annotations

import uuid
from datetime import datetime

import orjson
from werkzeug.wrappers import Response

__all__ = ["BCError", "bc_error_response", "entra_error_response", "json_response"]

ODATA_JSON = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None, *, odata: bool = True
) -> Response:
    """Serialise ``body`` with orjson; OData responses carry ``OData-Version: 4.0``."""
    response = Response(
        orjson.dumps(body), status=status, content_type=ODATA_JSON if odata else "application/json; charset=utf-8"
    )
    if odata:
        response.headers["OData-Version"] = "4.0"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


class BCError(Exception):
    """Raised inside BC handlers; rendered as ``{"error": {"code", "message"}}``.

    BC appends two spaces and ``CorrelationId:  <guid>.`` to every message
    (docs/bc/8-errors.md §8, https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/use-odata-batch).
    """

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self, correlation_id: str | None = None) -> dict[str, object]:
        cid = correlation_id or str(uuid.uuid4())
        return {"error": {"code": self.code, "message": f"{self.message}  CorrelationId:  {cid}."}}

    def response(self, correlation_id: str | None = None) -> Response:
        return bc_error_response(self.status, self.code, self.message, self.headers, correlation_id)


def bc_error_response(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    correlation_id: str | None = None,
) -> Response:
    """A BC OData error response (docs/bc/8-errors.md §8)."""
    error = BCError(status, code, message)
    return json_response(error.body(correlation_id), status=status, headers=headers)


def entra_error_response(error: str, aadsts: int, description: str, now: datetime, status: int = 400) -> Response:
    """An Entra ID token-endpoint error (docs/bc/1-identity.md §1.5).

    ``error_description`` starts with ``AADSTS<code>: `` and ends with trace and correlation
    ids and a timestamp, as Entra sends it.
    """
    trace_id = str(uuid.uuid4())
    correlation_id = str(uuid.uuid4())
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    body = {
        "error": error,
        "error_description": (
            f"AADSTS{aadsts}: {description}\r\nTrace ID: {trace_id}\r\n"
            f"Correlation ID: {correlation_id}\r\nTimestamp: {stamp}"
        ),
        "error_codes": [aadsts],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={aadsts}",
    }
    return json_response(body, status=status, odata=False)
