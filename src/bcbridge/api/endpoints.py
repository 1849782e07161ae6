"""``POST /endpoints/{code}``: call a registry endpoint (``bc.call``) and answer BC's JSON.

Needs the ``endpoints`` scope, and the code in the key's endpoint list when it has one. This
is the one part of the API that calls BC synchronously (a registry endpoint is a live call by
definition); BC's errors come back as 502 ``bc_error`` with BC's status and code, an
unreachable BC as 503 ``bc_unavailable``.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Path, Router

from bcbridge.api._json import dumps
from bcbridge.api._scope import resolve_company
from bcbridge.api.auth import require
from bcbridge.api.problems import Problem, ProblemOut
from bcbridge.api.schemas import NO_NUL, EndpointCallIn
from bcbridge.entities import BC
from bcbridge.exceptions import BCAPIError, BCBridgeError, ConfigurationError, RetriableError
from bcbridge.models import ApiEndpoint

__all__ = ["router"]

router = Router(tags=["endpoints"])

#: Keyword names of ``bc.call`` that a placeholder may not take.
_RESERVED = frozenset({"code", "payload", "company", "params", "etag"})


@router.post(
    "/endpoints/{code}",
    response={
        200: Any,
        400: ProblemOut,
        401: ProblemOut,
        403: ProblemOut,
        404: ProblemOut,
        422: ProblemOut,
        429: ProblemOut,
        502: ProblemOut,
        503: ProblemOut,
    },
    operation_id="call_endpoint",
    summary="Call a registry endpoint of BC and answer BC's JSON",
)
def call_endpoint(
    request: HttpRequest, code: Annotated[str, Path(pattern=NO_NUL)], body: EndpointCallIn
) -> HttpResponse:
    caller = require(request, "endpoints")
    if caller.endpoints and code not in caller.endpoints:
        raise Problem(403, "insufficient_scope", f"This key may call only {', '.join(caller.endpoints)}.")
    company = resolve_company(caller, body.connection, body.company)
    if not ApiEndpoint.objects.filter(connection=company.connection, code=code, enabled=True).exists():
        raise Problem(404, "not_found", f"No enabled endpoint {code!r} on connection {company.connection.name!r}.")
    reserved = sorted(set(body.placeholders) & _RESERVED)
    if reserved:
        raise Problem(
            400,
            "invalid_request",
            f"Placeholder name(s) {', '.join(reserved)} are reserved; pass the company as `company`.",
            errors=[{"loc": ["body", "placeholders", name], "msg": "reserved name"} for name in reserved],
        )
    placeholders: dict[str, Any] = dict(body.placeholders)
    try:
        with BC(company.connection) as bc:
            answer = bc.call(code, body.payload, company=str(company.bc_id), params=body.params, **placeholders)
    except BCAPIError as exc:
        detail = f"BC answered {exc.status} {exc.code or ''}: {exc.message}".strip()
        bc_error = {"status": exc.status, "code": exc.code, "message": exc.message, "requestId": exc.request_id}
        raise Problem(502, "bc_error", detail, bc=bc_error) from None
    except ConfigurationError as exc:
        raise Problem(422, "unprocessable", str(exc)) from None
    except RetriableError as exc:
        raise Problem(503, "bc_unavailable", f"BC could not be reached: {exc}", headers={"Retry-After": "30"}) from None
    except BCBridgeError as exc:
        raise Problem(422, "unprocessable", str(exc)) from None
    return HttpResponse(dumps(answer), content_type="application/json")
