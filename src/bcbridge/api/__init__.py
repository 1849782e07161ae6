"""bcbridge's REST API for the apps around BC (django-ninja, OpenAPI 3.1 from the code).

Mounted by :mod:`bcbridge.urls` at ``api/v1/`` (the ready site: ``/bcbridge/api/v1/``), with
the interactive docs at ``docs`` and the schema at ``openapi.json``. Groups:

* reads of the mirror (:mod:`.mirror`): never call BC;
* orders through the outbox and their status (:mod:`.orders`);
* registry endpoints (:mod:`.endpoints`);
* health (:mod:`.health`).

Callers authenticate with an API key (``Authorization: Bearer <key>``, :mod:`.auth`) or a
staff session; errors are RFC 9457 problem details (:mod:`.problems`).
"""

from __future__ import annotations

from typing import Any

from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from bcbridge.api import endpoints, health, mirror, orders  # noqa: F401 (orders adds to mirror.router)
from bcbridge.api.auth import ApiKeyAuth, StaffSessionAuth
from bcbridge.api.problems import Problem, internal_error, problem_response

__all__ = ["api"]


class _API(NinjaAPI):
    """NinjaAPI whose schema documents error answers as ``application/problem+json``."""

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        for path in schema["paths"].values():
            for operation in path.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content")
                    if int(status) >= 400 and content and "application/json" in content:
                        response["content"] = {"application/problem+json": content.pop("application/json")}
        return schema


api = _API(
    title="bcbridge API",
    version="1",
    description=(
        "Read the Business Central mirror, submit orders through the outbox, call registry endpoints "
        "and check health. Authenticate with `Authorization: Bearer <key>` (`bcbridge apikey create`). "
        "Errors are RFC 9457 problem details with a `code`."
    ),
    urls_namespace="bcbridge:api",  # inside bcbridge.urls (app_name "bcbridge")
    auth=[ApiKeyAuth(), StaffSessionAuth()],
    docs_url="/docs",
    openapi_url="/openapi.json",
)


@api.exception_handler(Problem)
def _problem(request: HttpRequest, exc: Problem) -> HttpResponse:
    return problem_response(request, exc)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in exc.errors]
    where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5])
    if any("Idempotency-Key" in e["loc"] for e in errors):
        detail = "Send an Idempotency-Key header (1-200 characters) so a retry cannot order twice."
        return problem_response(request, Problem(400, "missing_idempotency", detail, errors=errors))
    return problem_response(request, Problem(400, "invalid_request", f"Invalid request: {where}", errors=errors))


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem_response(
        request,
        Problem(401, "unauthorized", "Send Authorization: Bearer <API key>.", headers={"WWW-Authenticate": "Bearer"}),
    )


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem_response(request, Problem(404, "not_found", "No such resource."))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return problem_response(request, Problem(exc.status_code, "invalid_request", str(exc)))


@api.exception_handler(DataError)
def _data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
    # the database refused a value (PostgreSQL: a NUL character, a number out of range)
    return problem_response(request, Problem(400, "invalid_request", f"A value cannot be stored or searched: {exc}"))


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    return internal_error(request, exc)


api.add_router("", mirror.router)
api.add_router("", endpoints.router)
api.add_router("", health.router)


def urls() -> Any:
    return api.urls
