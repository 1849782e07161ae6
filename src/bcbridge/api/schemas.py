"""Pydantic schemas of the REST API: records built from the same plans that serialize them
(:func:`bcbridge.events.records.plan`), list envelopes, orders, outbox status and health."""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid
from typing import Annotated, Any, Literal

from django.db import models
from ninja import Schema
from pydantic import ConfigDict, Field, StringConstraints, create_model

from bcbridge.events import children_of
from bcbridge.events.records import DECIMAL_PATTERN, plan

__all__ = [
    "NO_NUL",
    "DecimalText",
    "EndpointCallIn",
    "GenericList",
    "GenericRecord",
    "HealthOut",
    "OrderAccepted",
    "OutboxStatusOut",
    "SalesOrderIn",
    "Text",
    "list_schema",
    "record_schema",
]

#: No NUL characters: PostgreSQL text cannot hold them, so input strings exclude them in the schema.
NO_NUL = r"^[^\x00]*$"

Text = Annotated[str, StringConstraints(pattern=NO_NUL)]

DecimalText = Annotated[
    str,
    StringConstraints(pattern=DECIMAL_PATTERN),
    Field(
        description="Decimal as its exact text, up to 10 places (BC sends a JSON number, docs/bc/7-entities.md §7.2; "
        "bcbridge keeps the digits as stored)."
    ),
]

_TYPES: dict[str, Any] = {
    "string": str,
    "guid": uuid.UUID,
    "decimal": DecimalText,
    "integer": int,
    "boolean": bool,
    "date": dt.date,
    "datetime": dt.datetime,
}

_DESCRIPTIONS = {
    "deleted": "True for a tombstone: BC no longer has this record (list them with deleted=true).",
    "deletedAt": "When bcbridge found the record gone from BC (UTC).",
    "syncedAt": "When bcbridge last wrote this record's content (UTC).",
    "lastModifiedDateTime": "BC's SystemModifiedAt (UTC).",
    "@odata.etag": "BC's ETag of the record.",
}


def _python_name(name: str) -> str:
    return re.sub(r"\W", "_", name).strip("_") or "field"


@functools.cache
def record_schema(model: type[models.Model], with_children: bool = True) -> type[Schema]:
    """The response schema of one typed mirror's records (BC's field names as aliases)."""
    fields: dict[str, Any] = {}
    for field_plan in plan(model).fields:
        kind = _TYPES[field_plan.kind]
        description = _DESCRIPTIONS.get(field_plan.name, f"BC field {field_plan.name}.")
        if field_plan.name == "id":
            fields["id"] = (uuid.UUID, Field(description="BC's id (systemId or document Id)."))
            continue
        fields[_python_name(field_plan.name)] = (
            kind | None,
            Field(None, alias=field_plan.name, description=description),
        )
    if with_children:
        for accessor, child in children_of(model):
            fields[accessor] = (
                list[record_schema(child, False)] | None,  # type: ignore[misc]
                Field(None, description=f"The {child._meta.verbose_name_plural} (with expand={accessor})."),
            )
    return create_model(  # type: ignore[call-overload,no-any-return]
        model.__name__,
        __base__=Schema,
        __config__=None,
        **fields,
    )


@functools.cache
def list_schema(model: type[models.Model]) -> type[Schema]:
    """``{"value": [records], "nextCursor", "nextLink"}`` of one typed mirror."""
    return create_model(  # type: ignore[call-overload,no-any-return]
        model.__name__ + "List",
        __base__=_Page,
        value=(list[record_schema(model)], Field(description="One page of records.")),  # type: ignore[misc]
    )


class _Page(Schema):
    model_config = ConfigDict(populate_by_name=True)

    nextCursor: str | None = Field(None, description="Opaque cursor of the next page; null on the last page.")
    nextLink: str | None = Field(None, description="URL of the next page (the same query with cursor).")


class GenericRecord(Schema):
    """A record of any other mirrored set: BC's payload in ``data``."""

    key: str = Field(description="BC's key (id for APIs, key fields joined with ',' for web services).")
    api: str = Field(description='"" for API v2.0, publisher/group/version for a custom API, ODataV4 for web services.')
    entitySet: str
    odata_etag: str | None = Field(None, alias="@odata.etag")
    lastModifiedDateTime: dt.datetime | None = None
    deleted: bool
    deletedAt: dt.datetime | None = None
    syncedAt: dt.datetime | None = None
    data: dict[str, Any] = Field(description="The payload exactly as BC sent it.")


class GenericList(_Page):
    value: list[GenericRecord]


# -- orders -----------------------------------------------------------------------------


class BCId(Schema):
    """A BC record by its ``systemId``: ``{"id": "..."}``."""

    id: uuid.UUID


class BCNumber(Schema):
    """A BC record by its number: ``{"number": "10000"}``."""

    number: Annotated[str, StringConstraints(min_length=1, max_length=20, pattern=NO_NUL)]


#: A BC record by its own key; one of the two is required, so ``{}`` is a schema error (422).
BCKey = BCId | BCNumber


class OrderLineIn(Schema):
    item: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)] | BCKey = Field(
        description="The item's external id in `system` (its BC number when not mapped), or {id}/{number}."
    )
    quantity: Annotated[float, Field(gt=0, le=1e9)] = Field(description="Quantity in the item's unit of measure.")
    unitPrice: Annotated[float, Field(ge=0, le=1e12)] | None = Field(
        None, description="Unit price; omitted: BC's price."
    )
    description: Annotated[str, StringConstraints(max_length=100, pattern=NO_NUL)] | None = None


class SalesOrderIn(Schema):
    """A sales order for BC, sent through the outbox (the fields of ``bcbridge.push.sales_order``)."""

    customer: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)] | BCKey = Field(
        description="The customer's external id in `system` (its BC number when not mapped), or {id}/{number}."
    )
    lines: list[OrderLineIn] = Field(min_length=1, max_length=500)
    external_document_number: Annotated[str, StringConstraints(min_length=1, max_length=35, pattern=NO_NUL)] = Field(
        description="Your order reference (BC externalDocumentNumber, at most 35 characters)."
    )
    system: Annotated[str, StringConstraints(min_length=1, max_length=60, pattern=NO_NUL)] = Field(
        "django", description="Whose ids `customer` and `item` are (the external-id map's system)."
    )
    actions: list[Literal["shipAndInvoice"]] = Field(default_factory=list, max_length=1)
    connection: Text | None = Field(None, description="Connection name (default: the only one).")
    company: Text | None = Field(None, description="Company id or name (default: the key's, else the selected one).")


class BCError(Schema):
    message: str
    code: str | None = None
    status: int | None = None


class OutboxStatusOut(Schema):
    """An outbox message: pending, in_flight, sent (BC id, number, ETag), parked (BC's message), cancelled."""

    id: int
    status: Literal["pending", "in_flight", "sent", "parked", "cancelled"]
    operation: str
    entitySet: str
    company: str
    attempts: int
    nextAttemptAt: dt.datetime | None = None
    createdAt: dt.datetime | None = None
    sentAt: dt.datetime | None = None
    bcId: str | None = None
    bcNumber: str | None = None
    bcEtag: str | None = None
    externalDocumentNumber: str | None = None
    error: BCError | None = None


class OrderAccepted(OutboxStatusOut):
    statusUrl: str = Field(description="GET it to follow the order.")


# -- endpoints and health ---------------------------------------------------------------


class EndpointCallIn(Schema):
    """A registry endpoint call (``bc.call(code, payload, **placeholders)``)."""

    placeholders: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="Values of the endpoint's URL placeholders."
    )
    payload: dict[str, Any] | list[Any] | None = Field(None, description="JSON body for POST/PATCH endpoints.")
    params: dict[str, str] | None = Field(None, description="Extra OData query options ($filter, $top...).")
    connection: Text | None = None
    company: Text | None = None


class HealthOut(Schema):
    status: Literal["ok", "degraded"]
    connections: list[dict[str, Any]]
    sync: list[dict[str, Any]]
    webhooks: list[dict[str, Any]]
    outbox: dict[str, int]
    events: dict[str, int]
