"""Bound actions of API v2.0 entities: ``POST .../{set}({id})/Microsoft.NAV.{action}``.

No body; success is ``204 No Content`` (docs/bc/2-urls.md §2.4, DOCS
``resources/dynamics_salesinvoice.md``). Actions are registered per (entity set, action
name) in :data:`ACTIONS`; each changes records through the store, so
``lastModifiedDateTime``, ETags and webhook notifications follow.

Implemented (AL pages ``APIV2SalesOrders``, ``APIV2SalesInvoices``, ``APIV2SalesQuotes``,
``APIV2PurchaseInvoices``, ``APIV2Journals``):

* salesOrders ``shipAndInvoice``: posted salesShipment + posted salesInvoice from the lines;
  the order is deleted once fully shipped and invoiced. ``ship`` (shipment only) is an
  emulator extension (BC's API v2.0 has no such action); switch it off with
  ``EmulatorConfig.extra_actions = False``.
* salesInvoices ``post`` / ``postAndSend`` (draft only; same ``id``, status ``Open``,
  number from the posted series), ``cancel`` / ``cancelAndSend`` (posted only; status
  ``Canceled`` and a ``Corrective`` salesCreditMemo), ``send`` (no e-mail is sent).
* purchaseInvoices ``post``; salesQuotes ``makeOrder`` / ``makeInvoice`` (the quote is
  deleted, as BC does) and ``send`` (status ``Sent``); journals ``post`` (journal lines
  become generalLedgerEntries with a balancing entry, then are deleted).

Errors: an unknown action is 404 ``BadRequest_ResourceNotFound`` "Resource not found for
the segment 'Microsoft.NAV.x'" (ODataLib's answer for a segment not in $metadata); a BC
action the emulator does not implement is 501 ``BadRequest_MethodNotImplemented``; AL
errors are 400 ``Application_DialogException`` with AL's own texts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from bcbridge.emulator.bc import _actions_orders as orders
from bcbridge.emulator.bc._actions_posting import (
    adjust_balance,
    adjust_inventory,
    app_error,
    build_record,
    is_blank_date,
    today,
)
from bcbridge.emulator.bc.schema import BLANK_GUID, bound_actions
from bcbridge.emulator.errors import BCError

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

__all__ = ["ACTIONS", "ActionContext", "invoke", "register"]

# AL labels (APIV2SalesInvoices.Page.al, APIV2PurchaseInvoices.Page.al).
DRAFT_INVOICE_ERR = "The action can be applied to a draft invoice only."
POSTED_INVOICE_ERR = "The action can be applied to a posted invoice only."
ALREADY_CANCELED_ERR = "The invoice cannot be canceled because it has already been canceled."
NO_INVOICE_LINES_ERR = "Please add at least one line item to the invoice."


@dataclass
class ActionContext:
    """What an action runs on: the store, company, entity set and the record itself."""

    bc: Any
    request: Request
    company_id: str
    entity_set: str
    key: str
    record: dict[str, Any]

    @property
    def store(self) -> Any:
        return self.bc.store


Action = Callable[[ActionContext], None]

#: (entity set, action name) -> implementation.
ACTIONS: dict[tuple[str, str], Action] = {}
#: Actions BC does not have, served only while ``EmulatorConfig.extra_actions`` is true.
EXTRA_ACTIONS = frozenset({("salesOrders", "ship")})


def register(entity_set: str, name: str) -> Callable[[Action], Action]:
    """Decorator: serve ``fn`` as ``{entity_set}({id})/Microsoft.NAV.{name}``."""

    def decorate(fn: Action) -> Action:
        ACTIONS[(entity_set, name)] = fn
        return fn

    return decorate


def invoke(bc: Any, request: Request, company_id: str, entity_set: str, key: str, name: str) -> Response:
    """Run bound action ``name`` on ``entity_set(key)``; ``204`` on success.

    Raises:
        BCError: 404 ``BadRequest_ResourceNotFound`` for an unknown action, 404 when the
            record does not exist, 501 for a BC action the emulator lacks, 400 for AL errors.
    """
    action = ACTIONS.get((entity_set, name))
    if (entity_set, name) in EXTRA_ACTIONS and not getattr(bc.emulator.config, "extra_actions", True):
        action = None
    if action is None:
        if name in bound_actions(entity_set):
            raise BCError(
                501,
                "BadRequest_MethodNotImplemented",
                f"The action '{name}' of '{entity_set}' is not supported by the emulator.",
            )
        raise BCError(
            404,
            "BadRequest_ResourceNotFound",
            f"Resource not found for the segment 'Microsoft.NAV.{name}'.",
        )
    record = bc.store.get(company_id, entity_set, key)
    if record is None:
        raise _not_found(bc, entity_set)
    action(ActionContext(bc, request, company_id, entity_set, key, record))
    return Response(status=204)


def _not_found(bc: Any, entity_set: str) -> BCError:
    try:
        from bcbridge.emulator.bc.writes import record_not_found
    except ImportError:  # pragma: no cover - writes is B1's module
        return BCError(404, "BadRequest_NotFound", "The specified resource was not found.")
    error: BCError = record_not_found(entity_set)
    return error


# -- salesOrders -------------------------------------------------------------------------------
@register("salesOrders", "shipAndInvoice")
def _ship_and_invoice(ctx: ActionContext) -> None:
    orders.post_order(ctx.store, ctx.company_id, ctx.key, ship=None, invoice=True)


@register("salesOrders", "ship")
def _ship(ctx: ActionContext) -> None:
    orders.post_order(ctx.store, ctx.company_id, ctx.key, ship=None, invoice=False)


# -- salesInvoices -----------------------------------------------------------------------------
def _lines(ctx: ActionContext, line_set: str) -> list[dict[str, Any]]:
    return [r for _, r in ctx.store.iter(ctx.company_id, line_set, parent_key=ctx.key)]


@register("salesInvoices", "post")
@register("salesInvoices", "postAndSend")
def _post_sales_invoice(ctx: ActionContext) -> None:
    invoice = ctx.record
    if invoice.get("status") not in ("Draft", "In Review"):
        raise app_error(DRAFT_INVOICE_ERR)
    lines = _lines(ctx, "salesInvoiceLines")
    if not lines:
        raise app_error(NO_INVOICE_LINES_ERR)
    posting_date = invoice.get("postingDate")
    changes: dict[str, object] = {
        "number": ctx.store.next_number(ctx.company_id, "postedSalesInvoices"),
        "status": "Open",
        "remainingAmount": invoice.get("totalAmountIncludingTax", 0),
    }
    if is_blank_date(posting_date):
        changes["postingDate"] = today(ctx.store)
    ctx.store.update(ctx.company_id, "salesInvoices", ctx.key, changes)
    adjust_inventory(ctx.store, ctx.company_id, [(line, float(line.get("quantity") or 0)) for line in lines], -1)
    adjust_balance(
        ctx.store,
        ctx.company_id,
        "customers",
        invoice.get("customerId"),
        "balanceDue",
        float(invoice.get("totalAmountIncludingTax") or 0),
    )


@register("salesInvoices", "cancel")
@register("salesInvoices", "cancelAndSend")
def _cancel_sales_invoice(ctx: ActionContext) -> None:
    invoice = ctx.record
    status = invoice.get("status")
    if status == "Canceled":
        raise app_error(ALREADY_CANCELED_ERR)
    if status not in ("Open", "Paid"):
        raise app_error(POSTED_INVOICE_ERR)
    # Correct Posted Sales Invoice: a posted credit memo applied to the invoice.
    memo = build_record(
        "salesCreditMemos",
        invoice,
        number=ctx.store.next_number(ctx.company_id, "salesCreditMemos"),
        creditMemoDate=today(ctx.store),
        postingDate=today(ctx.store),
        dueDate=today(ctx.store),
        invoiceId=invoice["id"],
        invoiceNumber=invoice.get("number", ""),
        status="Corrective",
    )
    ctx.store.insert(ctx.company_id, "salesCreditMemos", memo)
    ctx.store.update(ctx.company_id, "salesInvoices", ctx.key, {"status": "Canceled", "remainingAmount": 0})
    lines = _lines(ctx, "salesInvoiceLines")
    adjust_inventory(ctx.store, ctx.company_id, [(line, float(line.get("quantity") or 0)) for line in lines], 1)
    adjust_balance(
        ctx.store,
        ctx.company_id,
        "customers",
        invoice.get("customerId"),
        "balanceDue",
        -float(invoice.get("remainingAmount", invoice.get("totalAmountIncludingTax")) or 0),
    )


@register("salesInvoices", "send")
def _send_sales_invoice(ctx: ActionContext) -> None:
    # Sending e-mails is out of the emulator's scope; BC sends a draft or posted invoice.
    if not _lines(ctx, "salesInvoiceLines"):
        raise app_error(NO_INVOICE_LINES_ERR)


# -- purchaseInvoices --------------------------------------------------------------------------
@register("purchaseInvoices", "post")
def _post_purchase_invoice(ctx: ActionContext) -> None:
    invoice = ctx.record
    if invoice.get("status") not in ("Draft", "In Review"):
        raise app_error(DRAFT_INVOICE_ERR)
    lines = _lines(ctx, "purchaseInvoiceLines")
    if not lines:
        raise app_error(NO_INVOICE_LINES_ERR)
    changes: dict[str, object] = {
        "number": ctx.store.next_number(ctx.company_id, "postedPurchaseInvoices"),
        "status": "Open",
    }
    if is_blank_date(invoice.get("postingDate")):
        changes["postingDate"] = today(ctx.store)
    ctx.store.update(ctx.company_id, "purchaseInvoices", ctx.key, changes)
    adjust_inventory(ctx.store, ctx.company_id, [(line, float(line.get("quantity") or 0)) for line in lines], 1)
    adjust_balance(
        ctx.store,
        ctx.company_id,
        "vendors",
        invoice.get("vendorId"),
        "balance",
        float(invoice.get("totalAmountIncludingTax") or 0),
    )


# -- salesQuotes -------------------------------------------------------------------------------
def _quote_to(ctx: ActionContext, target: str, **values: object) -> None:
    quote = ctx.record
    if quote.get("status") == "Accepted":
        raise app_error("The quote has already been converted.")
    record = build_record(
        target,
        quote,
        number=ctx.store.next_number(ctx.company_id, target),
        status="Draft",
        **values,
    )
    ctx.store.insert(ctx.company_id, target, record)
    # Sales-Quote to Order / to Invoice delete the quote (BaseApp codeunits 86 and 1305).
    ctx.store.remove(ctx.company_id, "salesQuotes", ctx.key)


@register("salesQuotes", "makeOrder")
def _make_order(ctx: ActionContext) -> None:
    _quote_to(
        ctx,
        "salesOrders",
        orderDate=ctx.record.get("documentDate") or today(ctx.store),
        postingDate=today(ctx.store),
    )


@register("salesQuotes", "makeInvoice")
def _make_invoice(ctx: ActionContext) -> None:
    _quote_to(
        ctx,
        "salesInvoices",
        invoiceDate=ctx.record.get("documentDate") or today(ctx.store),
        postingDate=today(ctx.store),
    )


@register("salesQuotes", "send")
def _send_quote(ctx: ActionContext) -> None:
    ctx.store.update(ctx.company_id, "salesQuotes", ctx.key, {"status": "Sent", "sentDate": today(ctx.store)})


# -- journals ----------------------------------------------------------------------------------
@register("journals", "post")
def _post_journal(ctx: ActionContext) -> None:
    lines = sorted(_lines(ctx, "journalLines"), key=lambda line: int(line.get("lineNumber") or 0))
    if not lines:
        raise app_error("There is nothing to post.")
    for line in lines:
        amount = float(line.get("amount") or 0)
        date = line.get("postingDate")
        date = today(ctx.store) if is_blank_date(date) else date
        entries = [(line.get("accountId"), line.get("accountNumber"), amount)]
        if line.get("balancingAccountNumber"):
            entries.append((line.get("balancingAccountId"), line.get("balancingAccountNumber"), -amount))
        for account_id, account_number, value in entries:
            entry = build_record(
                "generalLedgerEntries",
                entryNumber=int(ctx.store.next_number(ctx.company_id, "generalLedgerEntries")),
                postingDate=date,
                documentNumber=line.get("documentNumber", ""),
                documentType=" ",
                accountId=account_id or BLANK_GUID,
                accountNumber=account_number or "",
                description=line.get("description", ""),
                debitAmount=value if value > 0 else 0,
                creditAmount=-value if value < 0 else 0,
            )
            ctx.store.insert(ctx.company_id, "generalLedgerEntries", entry)
        ctx.store.remove(ctx.company_id, "journalLines", line["id"])
