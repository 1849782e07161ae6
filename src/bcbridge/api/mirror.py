"""Reads of the mirror: items, customers, vendors, locations, documents with lines, G/L entries
and any other mirrored set. Never calls BC.

Every list takes ``connection``/``company`` (default: the key's company, else the only one),
``number`` (exact), ``search`` (display name or description, case-insensitive contains),
``modified_since`` (records whose ``lastModifiedDateTime``, or for tombstones ``deletedAt``,
is at or after it), ``deleted`` (``false``: live records, the default; ``true``: only
tombstones; ``any``), ``orderby`` (``number``, ``lastModifiedDateTime``, ``-`` for descending;
default: the order bcbridge first stored them), ``limit`` (1..1000, default 100), ``cursor``,
``fields`` (comma-separated BC field names) and ``expand`` (``variants`` on items, ``lines``
on documents).
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from django.db import models
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Query, Router, Schema
from pydantic import create_model

from bcbridge.api._paging import decode_cursor, encode_cursor, json_response, keyset
from bcbridge.api._scope import resolve_company
from bcbridge.api.auth import require
from bcbridge.api.problems import Problem, ProblemOut
from bcbridge.api.schemas import NO_NUL, GenericList, GenericRecord, Text, list_schema, record_schema
from bcbridge.events import children_of
from bcbridge.events.records import GENERIC_COLUMNS, generic_record, plan, rows_to_records
from bcbridge.models import (
    Company,
    Customer,
    GeneralLedgerEntry,
    Item,
    Location,
    MirrorRecord,
    PurchaseInvoice,
    SalesInvoice,
    SalesOrder,
    SalesShipment,
    Vendor,
)

__all__ = ["RESOURCES", "Resource", "router"]

router = Router(tags=["mirror"])

PathText = Annotated[str, Path(pattern=NO_NUL)]

ERRORS: dict[int, Any] = {400: ProblemOut, 401: ProblemOut, 403: ProblemOut, 404: ProblemOut, 429: ProblemOut}


@dataclass(frozen=True)
class Resource:
    """One typed mirror served at ``/{path}``."""

    path: str
    entity_set: str
    model: type[models.Model]
    number: str
    search: str

    @property
    def expand(self) -> str | None:
        found = children_of(self.model)
        return found[0][0] if found else None


RESOURCES = (
    Resource("items", "items", Item, "number", "display_name"),
    Resource("customers", "customers", Customer, "number", "display_name"),
    Resource("vendors", "vendors", Vendor, "number", "display_name"),
    Resource("locations", "locations", Location, "code", "display_name"),
    Resource("sales-orders", "salesOrders", SalesOrder, "number", "customer_name"),
    Resource("sales-invoices", "salesInvoices", SalesInvoice, "number", "customer_name"),
    Resource("sales-shipments", "salesShipments", SalesShipment, "number", "customer_name"),
    Resource("purchase-invoices", "purchaseInvoices", PurchaseInvoice, "number", "vendor_name"),
    Resource("general-ledger-entries", "generalLedgerEntries", GeneralLedgerEntry, "document_number", "description"),
)


class _Common(Schema):
    connection: Text | None = Field(None, description="Connection name (default: the only one).")
    company: Text | None = Field(None, description="Company id or name (default: the key's, else the selected one).")
    modified_since: datetime | None = Field(
        None, description="Only records changed (or, tombstones, deleted) at or after this time (RFC 3339)."
    )
    deleted: Literal["false", "true", "any"] = Field("false", description="Live records, tombstones only, or both.")
    limit: int = Field(100, ge=1, le=1000, description="Records per page (at most 1000).")
    cursor: Text | None = Field(None, max_length=500, description="nextCursor of the previous page (opaque).")


class ListParams(_Common):
    number: Text | None = Field(None, max_length=100, description="Exact BC number (code for locations).")
    search: Text | None = Field(None, max_length=100, description="Case-insensitive part of the name or description.")
    orderby: Literal["number", "-number", "lastModifiedDateTime", "-lastModifiedDateTime"] | None = Field(
        None, description="Sort order (default: the order bcbridge first stored them)."
    )
    fields: str | None = Field(None, max_length=2000, description="Comma-separated BC field names to return.")
    expand: str | None = None


def _fields_pattern(model: type[models.Model]) -> str:
    names = "|".join(re.escape(f.name) for f in plan(model).fields)
    return f"^({names})(,({names}))*$"


def _params_of(resource: Resource) -> type[ListParams]:
    """The list parameters of one resource: its own field names and expand option in the schema."""
    pattern = _fields_pattern(resource.model)
    expand: Any = Literal[resource.expand] if resource.expand else Literal["none"]  # type: ignore[valid-type]
    return create_model(  # type: ignore[call-overload,no-any-return]
        f"{resource.model.__name__}ListParams",
        __base__=ListParams,
        fields=(
            str | None,
            Field(
                None,
                max_length=2000,
                description="Comma-separated BC field names to return.",
                json_schema_extra={"pattern": pattern},  # documented; checked with a message naming the names
            ),
        ),
        expand=(
            expand | None,
            Field(None, description=f"Children to include ({resource.expand or 'none here'})."),
        ),
    )


class RecordParams(Schema):
    connection: Text | None = None
    company: Text | None = None
    fields: str | None = None


def _company(request: HttpRequest, connection: str | None, company: str | None) -> Company:
    return resolve_company(require(request, "read"), connection, company)


def _filtered(query: Any, params: Any, number: str | None, search: str | None) -> Any:
    if params.deleted == "false":
        query = query.filter(deleted=False)
    elif params.deleted == "true":
        query = query.filter(deleted=True)
    if getattr(params, "number", None) is not None and number:
        query = query.filter(**{number: params.number})
    if getattr(params, "search", None) and search:
        query = query.filter(**{f"{search}__icontains": params.search})
    if params.modified_since is not None:
        since = params.modified_since
        if since.tzinfo is None:
            raise Problem(400, "invalid_request", "modified_since needs a time zone (e.g. 2026-01-01T00:00:00Z).")
        try:  # in UTC: databases accept fewer offsets than RFC 3339 (PostgreSQL: up to 15:59)
            since = since.astimezone(UTC)
        except OverflowError:  # within a day of year 1 or 9999
            since = datetime.min.replace(tzinfo=UTC) if since.year < 2 else datetime.max.replace(tzinfo=UTC)
        query = query.filter(Q(last_modified_date_time__gte=since) | Q(deleted=True, deleted_at__gte=since))
    return query


def _page(request: HttpRequest, query: Any, params: Any, number_column: str) -> tuple[list[Any], str | None]:
    """Rows of one page (values via ``query``) and the next cursor."""
    orderby = params.orderby or ""
    descending = orderby.startswith("-")
    name = orderby.lstrip("-")
    column = {"number": number_column, "lastModifiedDateTime": "last_modified_date_time"}.get(name)
    after = decode_cursor(params.cursor, orderby) if params.cursor else None
    rows = list(keyset(query, column, descending, after)[: params.limit + 1])
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    cursor = None
    if more and rows:
        last = rows[-1]
        cursor = encode_cursor(orderby, last[1] if column else None, last[0])
    return rows, cursor


def _next_link(request: HttpRequest, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    query = request.GET.copy()
    query["cursor"] = cursor
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def _selected(model: type[models.Model], fields: str | None) -> Any:
    names = [n.strip() for n in fields.split(",") if n.strip()] if fields else None
    try:
        return plan(model).select(names)
    except ValueError as exc:
        raise Problem(
            400, "invalid_request", f"fields: {exc}.", errors=[{"loc": ["query", "fields"], "msg": str(exc)}]
        ) from None


def _with_children(model: type[models.Model], accessor: str, pks: list[Any], records: list[dict[str, Any]]) -> None:
    child = dict(children_of(model))[accessor]
    child_fields = plan(child).fields
    by_parent: dict[Any, list[Any]] = defaultdict(list)
    rows = (
        child.objects.filter(parent_id__in=pks)  # type: ignore[attr-defined]
        .order_by("pk")
        .values_list("parent_id", *[f.attname for f in child_fields])
    )
    for row in rows:
        by_parent[row[0]].append(row[1:])
    for pk, record in zip(pks, records, strict=True):
        record[accessor] = rows_to_records(child_fields, by_parent.get(pk, ()))


def _add_list(resource: Resource) -> None:
    model = resource.model
    number_column = resource.number

    params_model = _params_of(resource)
    record_params = create_model(  # type: ignore[call-overload]
        f"{model.__name__}RecordParams",
        __base__=RecordParams,
        fields=(str | None, Field(None, max_length=2000, json_schema_extra={"pattern": _fields_pattern(model)})),
    )

    def list_records(request: HttpRequest, params: Any) -> HttpResponse:
        company = _company(request, params.connection, params.company)
        fields = _selected(model, params.fields)
        expand = params.expand if params.expand not in (None, "none") else None
        query = _filtered(
            model.all_objects.filter(company=company),  # type: ignore[attr-defined]
            params,
            resource.number,
            resource.search,
        )
        query = query.values_list(
            "pk",
            number_column if params.orderby and "number" in params.orderby else "last_modified_date_time",
            *[f.attname for f in fields],
        )
        rows, cursor = _page(request, query, params, number_column)
        records = rows_to_records(fields, (row[2:] for row in rows))
        if expand:
            _with_children(model, expand, [row[0] for row in rows], records)
        return json_response(request, {"value": records, "nextCursor": cursor, "nextLink": _next_link(request, cursor)})

    def get_record(request: HttpRequest, id: str, params: Any) -> HttpResponse:
        company = _company(request, params.connection, params.company)
        fields = _selected(model, params.fields)
        try:
            key = uuid.UUID(id)
        except ValueError:
            raise Problem(404, "not_found", f"{id!r} is not a BC id (a GUID).") from None
        row = (
            model.all_objects.filter(company=company, bc_id=key)  # type: ignore[attr-defined]
            .values_list("pk", *[f.attname for f in fields])
            .first()
        )
        if row is None:
            raise Problem(
                404, "not_found", f"No {resource.entity_set} record {id} in company {company.bc_id} of the mirror."
            )
        record = rows_to_records(fields, [row[1:]])[0]
        if resource.expand:
            _with_children(model, resource.expand, [row[0]], [record])
        return json_response(request, record)

    # the parameter models are per resource: annotate with the objects, not strings
    list_records.__annotations__["params"] = Query[params_model]  # type: ignore[valid-type]
    get_record.__annotations__["params"] = Query[record_params]  # type: ignore[valid-type]
    get_record.__annotations__["id"] = str
    label = str(model._meta.verbose_name_plural)
    router.get(
        f"/{resource.path}",
        response={200: list_schema(model), 304: None, **ERRORS},
        operation_id=f"list_{resource.entity_set}",
        summary=f"List mirrored {label}",
        description=(
            f"BC `{resource.entity_set}` as mirrored by bcbridge (never calls BC). Filter by number, search, "
            "modified_since and deleted; page with limit and the opaque cursor; shrink with fields; "
            "poll cheaply with If-None-Match."
        ),
        tags=[resource.entity_set],
    )(list_records)
    router.get(
        f"/{resource.path}/{{id}}",
        response={200: record_schema(model), 304: None, **ERRORS},
        operation_id=f"get_{resource.entity_set}",
        summary=f"One mirrored {model._meta.verbose_name}"
        + (f" with its {resource.expand}" if resource.expand else ""),
        tags=[resource.entity_set],
    )(get_record)


for _resource in RESOURCES:
    _add_list(_resource)


class SetParams(_Common):
    orderby: Literal["lastModifiedDateTime", "-lastModifiedDateTime"] | None = Field(
        None, description="Sort order (default: the order bcbridge first stored them)."
    )
    api: Text = Field("", max_length=200, description='"" (API v2.0), publisher/group/version, or ODataV4.')


@router.get(
    "/sets/{entity_set}",
    response={200: GenericList, 304: None, **ERRORS},
    operation_id="list_set",
    summary="List any other mirrored entity set (generic mirror)",
    tags=["sets"],
)
def list_set(request: HttpRequest, entity_set: PathText, params: Query[SetParams]) -> HttpResponse:
    company = _company(request, params.connection, params.company)
    query = _filtered(
        MirrorRecord.all_objects.filter(company=company, api=params.api, entity_set=entity_set, parent__isnull=True),
        params,
        None,
        None,
    )
    query = query.values_list("pk", "last_modified_date_time", *GENERIC_COLUMNS)
    rows, cursor = _page(request, query, params, "key")
    if (
        not rows
        and params.cursor is None
        and not MirrorRecord.all_objects.filter(company=company, entity_set=entity_set).exists()
    ):
        raise Problem(404, "not_found", f"Nothing of {entity_set!r} is mirrored for company {company.bc_id}.")
    records = [generic_record(row[2:]) for row in rows]
    return json_response(request, {"value": records, "nextCursor": cursor, "nextLink": _next_link(request, cursor)})


class SetRecordParams(Schema):
    api: Text = Field("", max_length=200, description='"" (API v2.0), publisher/group/version, or ODataV4.')
    connection: Text | None = None
    company: Text | None = None


@router.get(
    "/sets/{entity_set}/{key}",
    response={200: GenericRecord, 304: None, **ERRORS},
    operation_id="get_set_record",
    summary="One record of a generic mirrored set",
    tags=["sets"],
)
def get_set_record(
    request: HttpRequest, entity_set: PathText, key: PathText, params: Query[SetRecordParams]
) -> HttpResponse:
    scope = _company(request, params.connection, params.company)
    api = params.api
    row = (
        MirrorRecord.all_objects.filter(company=scope, api=api, entity_set=entity_set, key=key)
        .values_list(*GENERIC_COLUMNS)
        .first()
    )
    if row is None:
        raise Problem(404, "not_found", f"No {entity_set}({key}) in the mirror of company {scope.bc_id}.")
    return json_response(request, generic_record(row))
