"""Posting a sales order: shipments, invoices and the order's quantities.

Used by ``salesOrders/Microsoft.NAV.shipAndInvoice`` (and ``ship``) and by the warehouse
custom API's ``post``. Follows BaseApp's Sales-Post as the API shows it (docs/bc/2-urls.md §2.4,
§7.3): a posted ``salesShipment`` with ``orderNumber`` and lines (line types mapped to
``NAV.salesLineType``); a posted ``salesInvoice`` (status ``Open``, ``orderId`` /
``orderNumber`` set, number from the posted-invoice series); the order lines' shipped and
invoiced quantities grow and their quantities to ship / invoice reset to what is left;
an order that is fully shipped and invoiced is deleted with its lines; item inventory and
the customer's ``balanceDue`` move.
"""

from __future__ import annotations

from typing import Any

from bcbridge.emulator.bc._actions_posting import (
    SHIPMENT_LINE_TYPES,
    adjust_balance,
    adjust_inventory,
    app_error,
    build_record,
    code_of,
    insert_document,
    is_blank_date,
    today,
)

__all__ = ["order_lines", "post_order"]

# CheckDocumentIfNoItemsExists: for any document but an invoice BC says "estimate"
# (AL codeunit 30038 "APIV2 - Send Sales Document").
NO_LINES_ERR = "Please add at least one line item to the estimate."
NOTHING_TO_POST_ERR = "There is nothing to post."


def order_lines(store: Any, company_id: str, order_id: str) -> list[dict[str, Any]]:
    """The order's lines in line order."""
    lines = [r for _, r in store.iter(company_id, "salesOrderLines", parent_key=order_id)]
    return sorted(lines, key=lambda line: int(line.get("sequence") or 0))


def _num(value: Any) -> float:
    return float(value or 0)


def _outstanding(line: dict[str, Any]) -> float:
    return max(0.0, _num(line.get("quantity")) - _num(line.get("shippedQuantity")))


def _to_invoice(line: dict[str, Any]) -> float:
    return max(0.0, _num(line.get("shippedQuantity")) - _num(line.get("invoicedQuantity")))


def post_order(
    store: Any, company_id: str, order_id: str, *, ship: dict[str, float] | None, invoice: bool
) -> dict[str, dict[str, Any] | None]:
    """Post a sales order.

    Args:
        store: The record store. company_id: The company. order_id: ``salesOrders`` id.
        ship: Quantity to ship per order-line id; ``None`` ships each line's ``shipQuantity``
            (or everything outstanding when that is 0, as the API's shipAndInvoice does).
        invoice: Also invoice what is shipped and not yet invoiced.

    Returns:
        ``{"shipment": record | None, "invoice": record | None, "order": record | None}``
        (``order`` is ``None`` when it was fully posted and deleted).

    Raises:
        BCError: 404 when the order is gone; 400 ``Application_DialogException`` when it
            has no lines ("Please add at least one line item to the estimate.") or nothing
            to post ("There is nothing to post.").
    """
    order = store.get(company_id, "salesOrders", order_id)
    if order is None:
        raise app_error("The order cannot be found.")
    lines = order_lines(store, company_id, order_id)
    if not lines:
        raise app_error(NO_LINES_ERR)
    posting_date = order.get("postingDate")
    if is_blank_date(posting_date):
        posting_date = today(store)

    shipped: list[tuple[dict[str, Any], float]] = []
    for line in lines:
        if line.get("lineType") == "Comment":
            continue
        if ship is None:
            wanted = _num(line.get("shipQuantity")) or _outstanding(line)
        else:
            wanted = ship.get(str(line["id"]), 0.0)
        quantity = min(wanted, _outstanding(line))
        if quantity > 0:
            shipped.append((line, quantity))

    updates: dict[str, dict[str, Any]] = {str(line["id"]): {} for line in lines}
    shipment = None
    if shipped:
        shipment = _post_shipment(store, company_id, order, shipped, posting_date)
        adjust_inventory(store, company_id, shipped, -1)
        for line, quantity in shipped:
            updates[str(line["id"])]["shippedQuantity"] = _number(_num(line.get("shippedQuantity")) + quantity)

    invoiced: list[tuple[dict[str, Any], float]] = []
    if invoice:
        for line in lines:
            new_shipped = updates[str(line["id"])].get("shippedQuantity", line.get("shippedQuantity"))
            quantity = _num(new_shipped) - _num(line.get("invoicedQuantity"))
            if quantity > 0:
                invoiced.append((line, quantity))
                updates[str(line["id"])]["invoicedQuantity"] = _number(_num(new_shipped))
    if not shipped and not invoiced:
        raise app_error(NOTHING_TO_POST_ERR)
    posted_invoice = None
    if invoiced:
        posted_invoice = _post_invoice(store, company_id, order, invoiced, posting_date)
        adjust_balance(
            store,
            company_id,
            "customers",
            order.get("customerId"),
            "balanceDue",
            float(posted_invoice.get("totalAmountIncludingTax") or 0),
        )

    fully_done = True
    for line in lines:
        change = updates[str(line["id"])]
        merged = {**line, **change}
        change["shipQuantity"] = _number(_outstanding(merged))
        change["invoiceQuantity"] = _number(_to_invoice(merged))
        if line.get("lineType") != "Comment" and (_outstanding(merged) > 0 or _to_invoice(merged) > 0):
            fully_done = False
        store.update(company_id, "salesOrderLines", str(line["id"]), change)
    if fully_done and invoice:
        store.remove(company_id, "salesOrders", order_id)
        return {"shipment": shipment, "invoice": posted_invoice, "order": None}
    fully_shipped = all(
        _outstanding({**line, **updates[str(line["id"])]}) <= 0 for line in lines if line.get("lineType") != "Comment"
    )
    remaining = store.update(company_id, "salesOrders", order_id, {"fullyShipped": fully_shipped})
    return {"shipment": shipment, "invoice": posted_invoice, "order": remaining}


def _post_shipment(
    store: Any,
    company_id: str,
    order: dict[str, Any],
    shipped: list[tuple[dict[str, Any], float]],
    posting_date: object,
) -> dict[str, Any]:
    header = build_record(
        "salesShipments",
        order,
        number=store.next_number(company_id, "salesShipments"),
        invoiceDate=order.get("orderDate") or posting_date,
        postingDate=posting_date,
        dueDate=posting_date,
        orderNumber=order.get("number", ""),
        paymentTermsCode=code_of(store, company_id, "paymentTerms", order.get("paymentTermsId")),
        shipmentMethodCode=code_of(store, company_id, "shipmentMethods", order.get("shipmentMethodId")),
    )
    lines = [
        build_record(
            "salesShipmentLines",
            line,
            lineType=SHIPMENT_LINE_TYPES.get(str(line.get("lineType")), " "),
            quantity=_number(quantity),
            shipmentDate=posting_date,
        )
        for line, quantity in shipped
    ]
    return insert_document(store, company_id, "salesShipments", header, "salesShipmentLines", lines)


def _post_invoice(
    store: Any,
    company_id: str,
    order: dict[str, Any],
    invoiced: list[tuple[dict[str, Any], float]],
    posting_date: object,
) -> dict[str, Any]:
    header = build_record(
        "salesInvoices",
        order,
        number=store.next_number(company_id, "postedSalesInvoices"),
        invoiceDate=order.get("orderDate") or posting_date,
        postingDate=posting_date,
        dueDate=posting_date,
        orderId=order["id"],
        orderNumber=order.get("number", ""),
        status="Open",
    )
    lines = [build_record("salesInvoiceLines", line, quantity=_number(quantity)) for line, quantity in invoiced]
    stored = insert_document(store, company_id, "salesInvoices", header, "salesInvoiceLines", lines)
    if "remainingAmount" in stored:
        stored = store.update(
            company_id,
            "salesInvoices",
            stored["id"],
            {"remainingAmount": stored.get("totalAmountIncludingTax", 0)},
        )
    return dict(stored)


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value
