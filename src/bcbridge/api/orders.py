"""Orders through the outbox (``POST /sales-orders``) and their status (``GET /outbox/{id}``).

The order is stored with :func:`bcbridge.push.sales_order` in the request's transaction and
answered 202 at once, whether BC is up or not; the dispatcher sends it exactly once. The
``Idempotency-Key`` header (required, 1-200 characters; the IETF httpapi draft's header)
makes a retried request safe: the same key with the same body answers the same message, the
same key with another body is 409 ``idempotency_conflict``. A second order with an external
document number already queued is 409 ``duplicate_order`` (BC has no idempotency key, so the
number is how the outbox finds an earlier attempt).
"""

from __future__ import annotations

import hashlib
import json

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Header

from bcbridge.api import mirror
from bcbridge.api._paging import json_response
from bcbridge.api._scope import resolve_company
from bcbridge.api.auth import Principal, require
from bcbridge.api.problems import Problem, ProblemOut
from bcbridge.api.schemas import OrderAccepted, OutboxStatusOut, SalesOrderIn
from bcbridge.events import outbox_status
from bcbridge.exceptions import ConfigurationError
from bcbridge.models import ApiIdempotencyKey, Company, OutboxMessage
from bcbridge.push import MappingError, sales_order

__all__ = ["router"]

# GET and POST /sales-orders must share one router (one URL pattern per path in ninja)
router = mirror.router

_ERRORS = {
    400: ProblemOut,
    401: ProblemOut,
    403: ProblemOut,
    404: ProblemOut,
    409: ProblemOut,
    422: ProblemOut,
    429: ProblemOut,
}


def _accepted(request: HttpRequest, message: OutboxMessage, status: int) -> HttpResponse:
    namespace = request.resolver_match.namespace if request.resolver_match else "bcbridge:api"
    url = request.build_absolute_uri(reverse(f"{namespace}:get_outbox_message", kwargs={"id": message.pk}))
    response = json_response(request, {**outbox_status(message), "statusUrl": url}, status=status)
    response["Location"] = url
    return response


def _line(line: object) -> dict[str, object]:
    data = line.model_dump(exclude_none=True)  # type: ignore[attr-defined]
    item = data.pop("item")
    if isinstance(item, dict):
        item = {k: str(v) for k, v in item.items() if v is not None}
    return {"item": item, **data}


def _customer(customer: object) -> str | dict[str, str]:
    if isinstance(customer, str):
        return customer
    data = {k: str(v) for k, v in customer.model_dump(exclude_none=True).items()}  # type: ignore[attr-defined]
    if not data:
        raise Problem(400, "invalid_request", "customer needs an external id, {id} or {number}.")
    return data


def _create(caller: Principal, company: Company, body: SalesOrderIn, key: str, digest: str) -> OutboxMessage:
    with transaction.atomic():
        default_key = f"sales_order:{body.system}:{body.external_document_number}"
        if OutboxMessage.objects.filter(connection=company.connection, dedupe_key=default_key).exists():
            raise Problem(
                409,
                "duplicate_order",
                f"An order with external_document_number {body.external_document_number!r} was already submitted.",
            )
        try:
            message = sales_order(
                company.connection,
                company,
                customer=_customer(body.customer),
                lines=[_line(line) for line in body.lines],
                external_document_number=body.external_document_number,
                system=body.system,
                actions=body.actions,
            )
        except MappingError as exc:
            raise Problem(
                422, "unprocessable", str(exc), errors=[{"loc": ["body", exc.field], "msg": exc.reason}]
            ) from None
        except ConfigurationError as exc:
            raise Problem(422, "unprocessable", str(exc)) from None
        ApiIdempotencyKey.objects.create(owner=caller.owner, key=key, request_hash=digest, message=message)
    return message


@router.post(
    "/sales-orders",
    response={202: OrderAccepted, 200: OrderAccepted, **_ERRORS},
    operation_id="create_sales_order",
    tags=["orders"],
    summary="Submit a sales order for BC (through the outbox)",
)
def create_sales_order(
    request: HttpRequest,
    body: SalesOrderIn,
    idempotency_key: str = Header(
        ...,
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Your unique id of this request (1-200 characters): a retry with it cannot order twice.",
    ),
) -> HttpResponse:
    caller = require(request, "orders")
    key = (idempotency_key or "").strip()
    if not key or len(key) > 200:
        raise Problem(
            400,
            "missing_idempotency",
            "Send an Idempotency-Key header (1-200 characters) so a retry cannot order twice.",
        )
    company = resolve_company(caller, body.connection, body.company)
    canonical = json.dumps(
        {**body.model_dump(mode="json"), "connection": company.connection.name, "company": str(company.bc_id)},
        sort_keys=True,
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    for _ in range(2):  # a concurrent request with the same key: the loser reads the winner's row
        earlier = ApiIdempotencyKey.objects.filter(owner=caller.owner, key=key).select_related("message").first()
        if earlier is not None:
            if earlier.request_hash != digest:
                raise Problem(
                    409, "idempotency_conflict", "This Idempotency-Key was used with another body; use a new key."
                )
            return _accepted(request, earlier.message, 200)
        try:
            return _accepted(request, _create(caller, company, body, key, digest), 202)
        except IntegrityError:
            continue
    raise Problem(409, "idempotency_conflict", "This Idempotency-Key is being used by a concurrent request.")


@router.get(
    "/outbox/{id}",
    response={200: OutboxStatusOut, 304: None, **_ERRORS},
    operation_id="get_outbox_message",
    tags=["orders"],
    url_name="get_outbox_message",
    summary="Status of an outbox message: pending, in_flight, sent (BC id, number, ETag), parked, cancelled",
)
def get_outbox_message(request: HttpRequest, id: int) -> HttpResponse:
    caller = principal_with_any(request)
    message = OutboxMessage.objects.filter(pk=id).select_related("connection").first()
    if message is None or (caller.company is not None and message.company_id != str(caller.company.bc_id)):
        raise Problem(404, "not_found", f"No outbox message {id}.")
    return json_response(request, outbox_status(message))


def principal_with_any(request: HttpRequest) -> Principal:
    """Reading an outbox message needs ``orders`` or ``read``."""
    try:
        return require(request, "orders")
    except Problem:
        return require(request, "read")
