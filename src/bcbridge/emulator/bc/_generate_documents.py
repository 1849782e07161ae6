"""Generators of documents with lines, G/L entries, journals and payments.

Consistency kept by construction: a document's customer/vendor fields are copied from the
customer/vendor record it references; lines reference existing items (id, number,
description, unit price) and their amounts follow :func:`~._totals.line_amounts`; header
totals are the sums of the lines; shipment ``i`` ships sales order ``i`` line by line; G/L
entries post the sales invoices (receivables debit = sales + tax credits).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bcbridge.emulator.bc import _catalog as cat
from bcbridge.emulator.bc._derive import TAX_PERCENT
from bcbridge.emulator.bc._generate_master import ref
from bcbridge.emulator.bc._ids import Salt, guid
from bcbridge.emulator.bc._series import SERIES
from bcbridge.emulator.bc._totals import header_totals, line_amounts
from bcbridge.emulator.bc.data import BaseSet, LinesSet, number_finder
from bcbridge.emulator.bc.schema import BLANK_DATE, BLANK_GUID, schema

if TYPE_CHECKING:
    from bcbridge.emulator.bc.data import CompanyData

__all__ = ["register"]


def _filler(name: str) -> Callable[[dict], dict]:
    """Turn a context dict into a record of set ``name``: fields in order, blanks elsewhere."""
    fields = [(f.name, f.blank()) for f in schema()[name].fields]
    return lambda ctx: {n: ctx.get(n, blank) for n, blank in fields}


def _lines_per_doc(s: Salt) -> Callable[[int], int]:
    return lambda d: 1 + s.h(d, 50) % 5


class _Docs:
    """Shared state of one company's document generators."""

    def __init__(self, cd: CompanyData) -> None:
        self.cd = cd
        self.items = cd.sets["items"]
        self.customers = cd.sets["customers"]
        self.vendors = cd.sets["vendors"]
        self.pcs = ref(cd, "unitsOfMeasure", 0)
        self.location = ref(cd, "locations", 1)

    def party_fields(self, party: dict, prefix: str, name_field: str, roles: tuple) -> dict:
        ctx = {name_field: party["displayName"], "phoneNumber": party["phoneNumber"],
               "email": party["email"]}
        for role in roles:
            ctx[f"{role}Name"] = party["displayName"]
            ctx[f"{role}AddressLine1"] = party["addressLine1"]
            ctx[f"{role}AddressLine2"] = party["addressLine2"]
            ctx[f"{role}City"] = party["city"]
            ctx[f"{role}Country"] = party["country"]
            ctx[f"{role}State"] = party["state"]
            ctx[f"{role}PostCode"] = party["postalCode"]
        return ctx

    def line_ctx(self, s: Salt, i: int, doc_id: str, position: int, purchase: bool) -> dict:
        """Context of line ``i`` (global index) at ``position`` in document ``doc_id``."""
        item_index = s.pick(i, 1, self.items.count)
        item = self.items.build(item_index)
        quantity = 1 + s.pick(i, 2, 12)
        percent = (0, 0, 0, 5, 10)[s.pick(i, 3, 5)]
        ctx = {
            "id": guid(s, i), "documentId": doc_id, "sequence": (position + 1) * 10000,
            "itemId": item["id"], "accountId": BLANK_GUID, "lineType": "Item",
            "lineObjectNumber": item["number"], "description": item["displayName"],
            "unitOfMeasureId": item["baseUnitOfMeasureId"],
            "unitOfMeasureCode": item["baseUnitOfMeasureCode"], "quantity": quantity,
            "unitPrice": item["unitPrice"], "unitCost": item["unitCost"],
            "discountPercent": percent, "discountAmount": 0, "taxCode": "FURNITURE",
            "taxPercent": TAX_PERCENT, "itemVariantId": BLANK_GUID, "locationId": self.location,
        }
        if purchase:
            ctx.pop("unitPrice")
        else:
            ctx.pop("unitCost")
        ctx.update(line_amounts(ctx))
        return ctx


def _sales(cd: CompanyData, d: _Docs, name: str, lines_name: str | None, count: int,
           number: Callable[[int], str], extra: Callable[[int, dict], dict],
           line_extra: Callable[[int, dict], dict] | None = None,
           party_salt: Salt | None = None) -> None:
    """A sales header set (and its lines set) built from customer + lines.

    ``party_salt``: pick the customer with another set's salt (shipment i has the customer
    of sales order i).
    """
    s = cd.salt(name)
    ls = cd.salt(lines_name or name)
    fill = _filler(name)
    fill_line = _filler(lines_name) if lines_name else None
    lines: LinesSet | None = None
    purchase = name.startswith("purchase")
    parties = d.vendors if purchase else d.customers

    def build_line(i: int) -> dict:
        doc, position = lines.position(i)  # type: ignore[union-attr]
        ctx = d.line_ctx(ls, i, guid(s, doc), position, purchase)
        if line_extra:
            ctx.update(line_extra(doc, ctx))
        return fill_line(ctx)  # type: ignore[misc]

    def build(i: int) -> dict:
        party_index = (party_salt or s).pick(i, 1, parties.count)
        party = parties.build(party_index)
        if purchase:
            ctx = d.party_fields(party, "buyFrom", "vendorName", ("buyFrom", "payTo", "shipTo"))
            ctx.update(vendorId=party["id"], vendorNumber=party["number"],
                       payToVendorId=party["id"], payToVendorNumber=party["number"])
        else:
            ctx = d.party_fields(party, "sellTo", "customerName", ("sellTo", "billTo", "shipTo"))
            ctx.update(customerId=party["id"], customerNumber=party["number"],
                       billToCustomerId=party["id"], billToCustomerNumber=party["number"],
                       currencyId=party["currencyId"], currencyCode=party["currencyCode"],
                       shipmentMethodId=party.get("shipmentMethodId", BLANK_GUID))
        ctx.update(id=guid(s, i), number=number(i), paymentTermsId=party["paymentTermsId"],
                   lastModifiedDateTime=cd.modified(s, i), salesperson="PS", purchaser="",
                   shipToContact="", pricesIncludeTax=False, discountAppliedBeforeTax=False)
        posting = cd.date(s, i, 20, 170)
        for field in ("orderDate", "postingDate", "invoiceDate", "documentDate",
                      "creditMemoDate"):
            ctx[field] = posting
        ctx["dueDate"] = posting
        if lines is not None:
            rows = [build_line(j) for j in lines.children_of(i)]
            ctx.update(header_totals(name, rows))
        else:
            excluding = round((s.h(i, 21) % 500_000) / 100, 2)
            tax = round(excluding * TAX_PERCENT / 100, 2)
            ctx.update(totalAmountExcludingTax=excluding, totalTaxAmount=tax,
                       totalAmountIncludingTax=round(excluding + tax, 2))
        ctx.update(extra(i, ctx))
        return fill(ctx)

    headers = cd.add(BaseSet(name, count, s, build))
    prefix = number(0)[:-1].rstrip("0123456789")
    headers.finders["number"] = number_finder(prefix, int(number(0)[len(prefix):]))
    if lines_name:
        lines = LinesSet(lines_name, count, ls, _lines_per_doc(s), build_line)
        cd.add(lines)


def _documents(cd: CompanyData, d: _Docs) -> None:
    orders = cd.volume("salesOrders")

    def order_extra(i: int, ctx: dict) -> dict:
        s = cd.salt("salesOrders")
        return {"status": "Draft" if s.h(i, 30) % 10 == 0 else "Open", "partialShipping": True,
                "requestedDeliveryDate": BLANK_DATE if s.h(i, 31) % 3 else ctx["orderDate"],
                "fullyShipped": i < cd.volume("salesShipments") and i % 2 == 0}

    def order_line_extra(doc: int, ctx: dict) -> dict:
        shipped = ctx["quantity"] if doc < cd.volume("salesShipments") else 0
        return {"shipmentDate": cd.date(cd.salt("salesOrders"), doc, 20, 170),
                "shippedQuantity": shipped, "invoicedQuantity": 0,
                "shipQuantity": ctx["quantity"] - shipped, "invoiceQuantity": ctx["quantity"]}

    _sales(cd, d, "salesOrders", "salesOrderLines", orders, SERIES["salesOrders"], order_extra,
           order_line_extra)

    def invoice_extra(i: int, ctx: dict) -> dict:
        paid = cd.salt("salesInvoices").h(i, 30) % 3 == 0
        return {"status": "Paid" if paid else "Open", "promisedPayDate": BLANK_DATE,
                "remainingAmount": 0 if paid else ctx["totalAmountIncludingTax"],
                "customerPurchaseOrderReference": ""}

    _sales(cd, d, "salesInvoices", "salesInvoiceLines", cd.volume("salesInvoices"),
           SERIES["postedSalesInvoices"], invoice_extra,
           lambda doc, ctx: {"shipmentDate": BLANK_DATE})

    order_salt = cd.salt("salesOrders")

    def shipment_extra(i: int, ctx: dict) -> dict:
        # Shipment i ships sales order i: same customer, same lines.
        order = cd.sets["salesOrders"].build(i)
        return {"orderNumber": order["number"], "paymentTermsCode": "30 DAYS",
                "shipmentMethodCode": "EXW", "postingDate": order["postingDate"],
                "invoiceDate": order["orderDate"], "dueDate": order["postingDate"],
                "currencyCode": order["currencyCode"]}

    def shipment_line_extra(doc: int, ctx: dict) -> dict:
        return {"documentNo": SERIES["salesShipments"](doc),
                "shipmentDate": cd.date(order_salt, doc, 20, 170)}

    shipments = min(cd.volume("salesShipments"), orders)
    _sales(cd, d, "salesShipments", "salesShipmentLines", shipments, SERIES["salesShipments"],
           shipment_extra, shipment_line_extra, party_salt=order_salt)
    _fix_shipments(cd)

    def purchase_extra(i: int, ctx: dict) -> dict:
        paid = cd.salt("purchaseInvoices").h(i, 30) % 3 == 0
        return {"status": "Paid" if paid else "Open",
                "vendorInvoiceNumber": f"VI-{40000 + i}"}

    _sales(cd, d, "purchaseInvoices", "purchaseInvoiceLines", cd.volume("purchaseInvoices"),
           SERIES["postedPurchaseInvoices"], purchase_extra,
           lambda doc, ctx: {"expectedReceiptDate": BLANK_DATE})
    _sales(cd, d, "salesQuotes", None, cd.volume("salesQuotes"), SERIES["salesQuotes"],
           lambda i, ctx: {"status": "Draft", "validUntilDate": BLANK_DATE,
                           "acceptedDate": BLANK_DATE, "sentDate": "0001-01-01T00:00:00Z"})
    _sales(cd, d, "salesCreditMemos", None, cd.volume("salesCreditMemos"),
           SERIES["salesCreditMemos"], lambda i, ctx: {"status": "Draft"})
    _sales(cd, d, "purchaseOrders", None, cd.volume("purchaseOrders"), SERIES["purchaseOrders"],
           lambda i, ctx: {"status": "Open", "requestedReceiptDate": BLANK_DATE,
                           "fullyReceived": False})


def _fix_shipments(cd: CompanyData) -> None:
    """Shipment lines reuse the order lines' salt, so line i of shipment d is line i of order d."""
    order_lines = cd.sets["salesOrderLines"]
    shipment_lines = cd.sets["salesShipmentLines"]
    orders, shipments = cd.sets["salesOrders"], cd.sets["salesShipments"]
    fill = _filler("salesShipmentLines")
    s = cd.salt("salesShipmentLines")

    def build(i: int) -> dict:
        line = order_lines.build(i)
        doc, _ = order_lines.position(i)  # type: ignore[attr-defined]
        return fill({**line, "id": guid(s, i), "documentId": shipments.key(doc),
                     "documentNo": SERIES["salesShipments"](doc), "lineType": "Item",
                     "shipmentDate": line["shipmentDate"]})

    shipment_lines._builder = build
    shipment_lines._per_parent = order_lines._per_parent  # type: ignore[attr-defined]
    shipment_lines._parents = min(shipments.count, orders.count)  # type: ignore[attr-defined]


def _ledger(cd: CompanyData) -> None:
    invoices = cd.sets["salesInvoices"]
    s = cd.salt("generalLedgerEntries")
    accounts = {r[0]: i for i, r in enumerate(cat.ACCOUNTS)}
    fill = _filler("generalLedgerEntries")
    plan = (("10400", "debit", "totalAmountIncludingTax"),
            ("40200", "credit", "totalAmountExcludingTax"),
            ("22000", "credit", "totalTaxAmount"))

    def build(i: int) -> dict:
        invoice = invoices.build(i // 3)
        account, side, amount_field = plan[i % 3]
        amount = invoice[amount_field]
        return fill({"id": guid(s, i), "entryNumber": i + 1,
                     "postingDate": invoice["postingDate"], "documentNumber": invoice["number"],
                     "documentType": "Invoice", "accountId": ref(cd, "accounts", accounts[account]),
                     "accountNumber": account, "description": f"Invoice {invoice['number']}",
                     "debitAmount": amount if side == "debit" else 0,
                     "creditAmount": amount if side == "credit" else 0,
                     "lastModifiedDateTime": invoice["lastModifiedDateTime"]})

    # Entries carry their invoice's timestamp, not one of their own salt.
    ledger = cd.add(BaseSet("generalLedgerEntries", 3 * invoices.count, s, build), stamped=False)
    if invoices.modified_ms is not None:  # so $orderby/$count index it without building
        stamp = invoices.modified_ms
        ledger.modified_ms = lambda i: stamp(i // 3)


def _journals(cd: CompanyData) -> None:
    journals = cd.sets["journals"]
    s = cd.salt("journalLines")
    fill = _filler("journalLines")
    per = cd.volume("journalLines") // 2
    lines: LinesSet

    def build(i: int) -> dict:
        journal, k = lines.position(i)
        account = 10 + s.pick(i, 1, 8)
        return fill({"id": guid(s, i), "journalId": journals.key(journal),
                     "journalDisplayName": cat.JOURNALS[journal][0], "lineNumber": (k + 1) * 10000,
                     "accountType": "G/L Account", "accountId": ref(cd, "accounts", account),
                     "accountNumber": cat.ACCOUNTS[account][0],
                     "postingDate": cd.date(s, i, 2, 30), "documentNumber": f"G{i + 1:05d}",
                     "amount": round((s.h(i, 3) % 100_000) / 100, 2),
                     "description": cat.ACCOUNTS[account][1],
                     "balanceAccountType": "G/L Account",
                     "lastModifiedDateTime": cd.modified(s, i)})

    lines = LinesSet("journalLines", journals.count, s,
                     lambda j: per if cat.JOURNALS[j][2] == "General" else 0, build)
    cd.add(lines)
    cash = journals.key(next(i for i, j in enumerate(cat.JOURNALS) if j[0] == "CASH"))
    invoices, customers = cd.sets["salesInvoices"], cd.sets["customers"]
    ps = cd.salt("customerPayments")
    fill_payment = _filler("customerPayments")

    def payment(i: int) -> dict:
        invoice = invoices.build(i % invoices.count)
        customer = customers.build(customers.index(invoice["customerId"]) or 0)
        return fill_payment({
            "id": guid(ps, i), "journalId": cash, "journalDisplayName": "CASH",
            "lineNumber": (i + 1) * 10000, "customerId": customer["id"],
            "customerNumber": customer["number"], "postingDate": cd.date(ps, i, 2, 20),
            "documentNumber": f"PAY{i + 1:05d}", "amount": -invoice["totalAmountIncludingTax"],
            "appliesToInvoiceId": invoice["id"], "appliesToInvoiceNumber": invoice["number"],
            "description": f"Payment of {invoice['number']}",
            "lastModifiedDateTime": cd.modified(ps, i)})

    count = cd.volume("customerPayments") if invoices.count else 0
    cd.add(BaseSet("customerPayments", count, ps, payment))


def register(cd: CompanyData) -> None:
    """Add the documents, G/L entries, journal lines and payments of ``cd``."""
    d = _Docs(cd)
    _documents(cd, d)
    _ledger(cd)
    _journals(cd)
