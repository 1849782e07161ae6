"""Errors of the REST API in one shape: RFC 9457 problem details (``application/problem+json``).

Every error answer is ``{"type", "title", "status", "detail", "code"}`` (RFC 9457 §3.1 members,
plus the extension member ``code``, RFC 9457 §3.2, a stable word a client can act on), with
``errors`` listing the fields at fault for invalid input. ``type`` is a URI naming the code
(``https://bcbridge.dev/problems/<code>``; RFC 9457 §3.1.1 allows a non-dereferenceable
URI). The codes:

=======================  ======  ===========================================================
code                     status  what to do
=======================  ======  ===========================================================
``invalid_request``      400     fix the parameters or body named in ``errors``
``invalid_cursor``       400     start again without ``cursor`` (or with one from this API)
``missing_idempotency``  400     send an ``Idempotency-Key`` header
``ambiguous_company``    400     pass ``connection`` and/or ``company``
``unauthorized``         401     send ``Authorization: Bearer <key>``
``key_revoked``          401     ask for a new key
``insufficient_scope``   403     use a key with the scope named in ``detail``
``company_forbidden``    403     the key is restricted to another company
``not_found``            404     check the id, entity set or code
``idempotency_conflict`` 409     the key was used for another body: use a new key
``duplicate_order``      409     an order with that external document number exists
``unprocessable``        422     the request is well-formed but cannot be done (``detail``)
``rate_limited``         429     wait ``Retry-After`` seconds
``bc_error``             502     BC answered an error (``bc`` holds its status and code)
``bc_unavailable``       503     BC could not be reached; retry later
``internal_error``       500     a bug: report it with the ``instance`` id
=======================  ======  ===========================================================
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Schema
from pydantic import Field

from bcbridge.api._json import dumps

__all__ = ["PROBLEM_TYPE", "Problem", "ProblemOut", "problem_response"]

logger = logging.getLogger("bcbridge.api")

PROBLEM_TYPE = "https://bcbridge.dev/problems/"

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    412: "Precondition Failed",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class ProblemOut(Schema):
    """RFC 9457 problem details."""

    type: str = Field(description="URI of the problem type: https://bcbridge.dev/problems/<code>.")
    title: str = Field(description="Short summary of the status (RFC 9457 §3.1.3).")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong and what to do next.")
    code: str = Field(description="Stable error code to act on (see the README's REST API section).")
    instance: str | None = Field(None, description="Id of this occurrence (logged on 5xx).")
    errors: list[dict[str, Any]] | None = Field(None, description="Fields at fault: {loc, msg}.")
    bc: dict[str, Any] | None = Field(None, description="BC's error: status, code, message, request id.")


class Problem(Exception):
    """Raise to answer with a problem; ``headers`` are added (``Retry-After``...)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.errors, self.headers, self.extra = errors, headers or {}, extra


def problem_response(request: HttpRequest | None, problem: Problem) -> HttpResponse:
    """The ``application/problem+json`` answer of ``problem``."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + problem.code,
        "title": _TITLES.get(problem.status, "Error"),
        "status": problem.status,
        "detail": problem.detail,
        "code": problem.code,
    }
    if problem.errors:
        body["errors"] = problem.errors
    body.update({k: v for k, v in problem.extra.items() if v is not None})
    response = HttpResponse(dumps(body), status=problem.status, content_type="application/problem+json")
    for name, value in problem.headers.items():
        response[name] = value
    return response


def internal_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A 500 problem; the exception is logged with the occurrence id (never sent)."""
    occurrence = uuid.uuid4().hex
    logger.error("API error %s on %s %s", occurrence, request.method, request.path, exc_info=exc)
    return problem_response(
        request,
        Problem(500, "internal_error", f"Unexpected error; quote {occurrence} when reporting it.", instance=occurrence),
    )
