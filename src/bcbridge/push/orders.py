"""Sales orders to BC: one deep insert of the order with its lines (the seeds' main action).

:func:`sales_order` stores an outbox message in the caller's transaction; the dispatcher
resolves customer and items through the external-id map (:mod:`bcbridge.push.mapping`),
posts ``salesOrders`` with ``salesOrderLines`` nested (deep insert, docs/bc/2-urls.md §2.6), writes
BC's id, number and ETag back, and runs follow-up actions (``shipAndInvoice``, docs/bc/2-urls.md
§2.4). ``externalDocumentNumber`` is how a lost answer is recovered: before creating again
the dispatcher looks for the order in BC by it (BC has no idempotency key).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bcbridge.exceptions import ConfigurationError
from bcbridge.models import Company, Connection, ExternalIdMap, OutboxMessage
from bcbridge.push.mapping import MappingError, apply_mappings, mapping_rows, resolve_external_id
from bcbridge.push.outbox import enqueue

if TYPE_CHECKING:
    from bcbridge.entities import BC

__all__ = ["ORDER_ACTIONS", "build_order", "sales_order", "sales_order_from_dict"]

#: Follow-up actions a sales order message may run after the insert. ``ship`` is BC's
#: ``shipAndInvoice`` without the invoice part, which API v2.0 does not offer (only the
#: warehouse flow of :mod:`bcbridge.push.warehouse` ships without invoicing).
ORDER_ACTIONS = ("shipAndInvoice",)


def sales_order(
    connection: Connection,
    company: str | uuid.UUID | Company | None = None,
    *,
    customer: str | Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    external_document_number: str,
    system: str = "django",
    fields: Mapping[str, Any] | None = None,
    actions: Sequence[str] = (),
    create_customer: Mapping[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> OutboxMessage:
    """Queue a sales order with its lines for BC; call inside the caller's transaction.

    Args:
        connection: Target connection.
        company: Company id, name or row (``None``: the connection's default).
        customer: The customer's external id in ``system`` (seed 004: BC's customer
            number), or ``{"id": systemId}`` / ``{"number": "10000"}`` for BC's own keys.
        lines: One dict per line: ``item`` (external id, or ``{"id": ...}``), ``quantity``,
            and any salesOrderLine field or mapped source field (``unitPrice``,
            ``description``...). Lines without ``item`` pass through (comment lines...).
        external_document_number: Our order reference, written to BC's
            ``externalDocumentNumber`` and used to find an earlier attempt.
        system: Name of the system the external ids belong to.
        fields: More header fields (or mapped source fields) for ``salesOrders``.
        actions: Follow-up bound actions, in order (``shipAndInvoice``).
        create_customer: Body of a new customer to create when ``customer`` is unknown.
        dedupe_key: Idempotency key (default ``sales_order:{system}:{external_document_number}``).

    Returns:
        The pending :class:`~bcbridge.models.OutboxMessage` (``bc_id``/``bc_number`` once sent).

    Raises:
        MappingError: A field mapping cannot fill a BC field (which and why).
        ConfigurationError: An unknown action, no lines, or no external document number.
    """
    if not external_document_number:
        raise ConfigurationError(
            "A sales order needs external_document_number: it is how a retry finds the first attempt."
        )
    if len(external_document_number) > 35:
        raise MappingError(
            "salesOrders", "externalDocumentNumber", f"{external_document_number!r} is longer than BC's 35 characters"
        )
    if not lines:
        raise ConfigurationError("A sales order needs at least one line.")
    unknown = [a for a in actions if a not in ORDER_ACTIONS]
    if unknown:
        raise ConfigurationError(f"Unknown sales order action(s) {unknown}; known: {', '.join(ORDER_ACTIONS)}.")
    header = apply_mappings(connection, "salesOrders", dict(fields or {}))
    mapped_lines = []
    line_rows = mapping_rows(connection, "salesOrderLines")
    for index, line in enumerate(lines):
        item = line.get("item")
        body = apply_mappings(
            connection, "salesOrderLines", {k: v for k, v in line.items() if k != "item"}, rows=line_rows
        )
        mapped_lines.append({"item": item, "body": _jsonable(body), "index": index})
    payload = {
        "system": system,
        "customer": customer if isinstance(customer, str) else dict(customer),
        "create_customer": dict(create_customer) if create_customer else None,
        "header": _jsonable(header),
        "lines": mapped_lines,
        "external_document_number": external_document_number,
        "actions": list(actions),
    }
    return enqueue(
        connection,
        company,
        "sales_order",
        entity_set="salesOrders",
        payload=payload,
        lookup={"externalDocumentNumber": external_document_number},
        dedupe_key=dedupe_key or f"sales_order:{system}:{external_document_number}",
    )


def sales_order_from_dict(
    connection: Connection, company: str | uuid.UUID | Company | None, source: Mapping[str, Any], **options: Any
) -> OutboxMessage:
    """:func:`sales_order` from one plain dict: ``{"customer", "external_document_number"
    (or "externalDocumentNumber"), "lines": [...], ...header fields}``.

    Raises:
        MappingError: ``customer`` or the lines are missing, or a mapping fails.
    """
    data = dict(source)
    for name in ("customer", "lines"):
        if name not in data:
            raise MappingError("salesOrders", name, f"the source has no {name!r}")
    number = data.pop("external_document_number", None) or data.pop("externalDocumentNumber", None)
    customer, lines = data.pop("customer"), data.pop("lines")
    return sales_order(
        connection,
        company,
        customer=customer,
        lines=lines,
        external_document_number=str(number or ""),
        fields=data,
        **options,
    )


def _jsonable(body: Mapping[str, Any]) -> dict[str, Any]:
    # Decimals are stored as {"$decimal": "1.50"} (JSONField has no Decimal) and sent as numbers.
    return {k: ({"$decimal": str(v)} if isinstance(v, Decimal) else v) for k, v in body.items()}


def _restore(body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: (Decimal(v["$decimal"]) if isinstance(v, dict) and set(v) == {"$decimal"} else v) for k, v in body.items()
    }


def _customer_id(bc: BC, message: OutboxMessage) -> dict[str, Any]:
    payload = message.payload
    customer = payload["customer"]
    if isinstance(customer, Mapping):
        if customer.get("id"):
            return {"customerId": str(customer["id"])}
        if customer.get("number"):
            return {"customerNumber": str(customer["number"])}
        external = customer.get("external_id")
        system = customer.get("system") or payload["system"]
    else:
        external, system = customer, payload["system"]
    if not external:
        raise MappingError("salesOrders", "customerId", "no customer given (external id, id or number)")
    row = resolve_external_id(
        bc, message.company_id, system, "customers", str(external), create=payload.get("create_customer")
    )
    return {"customerId": row.bc_id}


def build_order(bc: BC, message: OutboxMessage) -> dict[str, Any]:
    """The deep-insert body of a sales order message, ids resolved (may call BC).

    Raises:
        MappingError: A customer or item is neither mapped nor found in BC.
    """
    payload = message.payload
    body: dict[str, Any] = {**_restore(payload.get("header") or {}), **_customer_id(bc, message)}
    body["externalDocumentNumber"] = payload["external_document_number"]
    known = _mapped_items(message)
    lines = []
    for line in payload["lines"]:
        values = _restore(line["body"])
        item = line.get("item")
        if item:
            if isinstance(item, Mapping) and item.get("id"):
                values["itemId"] = str(item["id"])
            else:
                external = item.get("external_id") if isinstance(item, Mapping) else item
                system = (item.get("system") if isinstance(item, Mapping) else None) or payload["system"]
                try:
                    values["itemId"] = (
                        known.get((system, str(external)))
                        or resolve_external_id(bc, message.company_id, system, "items", str(external)).bc_id
                    )
                except MappingError as error:
                    raise MappingError("salesOrderLines", f"lines[{line['index']}].item", error.reason) from None
            values.setdefault("lineType", "Item")
        lines.append(values)
    body["salesOrderLines"] = lines
    return body


def _mapped_items(message: OutboxMessage) -> dict[tuple[str, str], str]:
    """The order's items already in the external-id map, in one query."""
    payload = message.payload
    wanted = set()
    for line in payload["lines"]:
        item = line.get("item")
        if item and not (isinstance(item, Mapping) and item.get("id")):
            external = item.get("external_id") if isinstance(item, Mapping) else item
            system = (item.get("system") if isinstance(item, Mapping) else None) or payload["system"]
            wanted.add((system, str(external)))
    if not wanted:
        return {}
    rows = ExternalIdMap.objects.filter(
        connection_id=message.connection_id,
        company_id=message.company_id.lower(),
        entity_set="items",
        system__in={s for s, _ in wanted},
        external_id__in={e for _, e in wanted},
    ).values_list("system", "external_id", "bc_id")
    return {(system, external): bc_id for system, external, bc_id in rows}
