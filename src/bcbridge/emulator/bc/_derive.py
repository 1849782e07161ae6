"""Values BC derives when a record is written: id/number pairs, customer and vendor data on
documents, item data and amounts on lines.

Id/code pairs (``customerId``/``customerNumber``, ``currencyId``/``currencyCode``,
``itemId``/``lineObjectNumber``, ...): setting either fills the other; both given and
inconsistent is an error (docs/bc/7-entities.md §7.2, AL ``APIV2Items.Page.al``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bcbridge.emulator.bc._totals import line_amounts
from bcbridge.emulator.bc.schema import BLANK_GUID, EntitySet, schema
from bcbridge.emulator.errors import BCError

if TYPE_CHECKING:
    from bcbridge.emulator.bc.store import Store

__all__ = ["TAX_PERCENT", "derive"]

#: Sales tax percent of taxable lines in the demo companies.
TAX_PERCENT = 8

# (id field, number field, target set, target field)
PAIRS = (
    ("customerId", "customerNumber", "customers", "number"),
    ("billToCustomerId", "billToCustomerNumber", "customers", "number"),
    ("vendorId", "vendorNumber", "vendors", "number"),
    ("payToVendorId", "payToVendorNumber", "vendors", "number"),
    ("currencyId", "currencyCode", "currencies", "code"),
    ("itemCategoryId", "itemCategoryCode", "itemCategories", "code"),
    ("taxGroupId", "taxGroupCode", "taxGroups", "code"),
    ("baseUnitOfMeasureId", "baseUnitOfMeasureCode", "unitsOfMeasure", "code"),
    ("unitOfMeasureId", "unitOfMeasureCode", "unitsOfMeasure", "code"),
    ("employeeId", "employeeNumber", "employees", "number"),
    ("appliesToInvoiceId", "appliesToInvoiceNumber", "salesInvoices", "number"),
    ("balancingAccountId", "balancingAccountNumber", "accounts", "number"),
)
_ITEM_PAIR = ("itemId", "itemNumber", "items", "number")  # itemVariants
_ACCOUNT_PAIR = ("accountId", "accountNumber", "accounts", "number")  # journal lines, G/L


def _mismatch(a: str, b: str) -> BCError:
    return BCError(400, "Application_DialogException",
                   f"The values of \"{a}\" and \"{b}\" do not match the same record.")


def _missing(target: str, field: str, value: str) -> BCError:
    entity = schema()[target].entity
    return BCError(400, "Internal_RecordNotFound", f"The {entity} does not exist. "
                   f"Identification fields and values: {field}='{value}'")


def _pair(store: Store, cid: str, record: dict, changed: dict, pair: tuple) -> dict | None:
    id_field, number_field, target, target_field = pair
    if id_field not in record or number_field not in record:
        return None
    new_id, new_number = id_field in changed, number_field in changed
    if not (new_id or new_number):
        return None
    ref_id, ref_number = record[id_field], record[number_field]
    if new_id and ref_id != BLANK_GUID:
        found = store.get(cid, target, ref_id)
        if found is None:
            raise _missing(target, "Id", ref_id)
        stored_number = str(found[target_field]).upper()
        if new_number and ref_number and str(ref_number).upper() != stored_number:
            raise _mismatch(id_field, number_field)
    elif new_number and ref_number:
        found = store.find(cid, target, target_field, ref_number)
        if found is None:
            raise _missing(target, "No." if target_field == "number" else "Code", ref_number)
    else:  # cleared
        record[id_field], record[number_field] = BLANK_GUID, ""
        return None
    record[id_field], record[number_field] = found["id"], found[target_field]
    return found


def _party(record: dict, party: dict, prefix: str, name_field: str) -> None:
    """Copy a customer's/vendor's name and address into a document header."""
    record[name_field] = party["displayName"]
    for role in (prefix, "billTo", "payTo", "shipTo"):
        if f"{role}Name" in record and role != prefix:
            record[f"{role}Name"] = party["displayName"]
        for src, dst in (("addressLine1", "AddressLine1"), ("addressLine2", "AddressLine2"),
                         ("city", "City"), ("country", "Country"), ("state", "State"),
                         ("postalCode", "PostCode")):
            if f"{role}{dst}" in record:
                record[f"{role}{dst}"] = party.get(src, "")
    for src in ("phoneNumber", "email", "paymentTermsId", "shipmentMethodId", "currencyId",
                "currencyCode"):
        if src in record and src in party:
            record[src] = party[src]


def _line(store: Store, cid: str, record: dict, changed: dict) -> None:
    if "itemId" in changed and "accountId" in changed and \
            changed["itemId"] != BLANK_GUID and changed["accountId"] != BLANK_GUID:
        raise BCError(400, "Application_DialogException", 'Both "itemId" and "accountId" are '
                      "specified. Specify only one of them.")
    line_type = record.get("lineType")
    if "lineType" not in changed:
        if changed.get("itemId", BLANK_GUID) != BLANK_GUID:
            line_type = "Item"
        elif changed.get("accountId", BLANK_GUID) != BLANK_GUID:
            line_type = "Account"
        elif "lineObjectNumber" in changed and line_type in ("Comment", " ", None):
            line_type = "Item"
        if "lineType" in record and line_type:
            record["lineType"] = line_type
    target = {"Item": ("itemId", "items", "number"),
              "Account": ("accountId", "accounts", "number")}.get(str(line_type))
    if target and "lineObjectNumber" in record:
        pair = (target[0], "lineObjectNumber", target[1], target[2])
        found = _pair(store, cid, record, changed, pair) if target[0] in record else None
        if found is not None:
            if not changed.get("description"):
                record["description"] = found.get("displayName", record.get("description", ""))
            if target[1] == "items":
                for price in ("unitPrice", "unitCost"):
                    if price in record and price not in changed:
                        record[price] = found.get(price, 0)
                if "unitOfMeasureId" in record and "unitOfMeasureId" not in changed \
                        and "unitOfMeasureCode" not in changed:
                    record["unitOfMeasureId"] = found.get("baseUnitOfMeasureId", BLANK_GUID)
                    record["unitOfMeasureCode"] = found.get("baseUnitOfMeasureCode", "")
            if "taxPercent" in record:
                record["taxPercent"] = TAX_PERCENT
    record.update({k: v for k, v in line_amounts(record).items() if k in record})


def derive(store: Store, cid: str, es: EntitySet, record: dict, changed: dict) -> None:
    """Fill the values BC derives from ``changed`` into ``record`` (in place).

    Raises:
        BCError: 400 for a reference that does not exist or an inconsistent pair.
    """
    for pair in PAIRS:
        found = _pair(store, cid, record, changed, pair)
        if found is None:
            continue
        if pair[0] == "customerId" and "customerName" in record:
            _party(record, found, "sellTo", "customerName")
            if "billToCustomerId" in record and "billToCustomerId" not in changed:
                record["billToCustomerId"], record["billToCustomerNumber"] = (
                    found["id"], found["number"])
        elif pair[0] == "vendorId" and "vendorName" in record:
            _party(record, found, "buyFrom", "vendorName")
            if "payToVendorId" in record and "payToVendorId" not in changed:
                record["payToVendorId"], record["payToVendorNumber"] = found["id"], found["number"]
    if es.name == "itemVariants":
        _pair(store, cid, record, changed, _ITEM_PAIR)
    if es.name in ("journalLines", "generalLedgerEntries"):
        _pair(store, cid, record, changed, _ACCOUNT_PAIR)
    if "lineObjectNumber" in record and "quantity" in record:
        _line(store, cid, record, changed)
    if es.name == "employees" and ({"givenName", "surname", "middleName"} & set(changed)):
        parts = (record.get("givenName", ""), record.get("middleName", ""),
                 record.get("surname", ""))
        record["displayName"] = " ".join(p for p in parts if p)
