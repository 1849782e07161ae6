"""The page and query web services the emulator publishes, with BC's own field names.

Each :class:`WsPage` names a BaseApp page (or query) published under a service name
(seed 004's table: CustomerCard = page 21, Locations = page 5703, ItemCard = page 30,
ShippingAgents = page 428, SalesOrders = page 42, SalesOrderLines = page 46,
Itemsbylocation = query, CustomerPriceGroups = page 7). Field names are the AL control
names with spaces and punctuation replaced by ``_`` (API-FACTS §2.3): ``No``,
``Base_Unit_of_Measure``, ``Country_Region_Code``, ``Sell_to_Customer_No``, ``Line_No``.

Rows are computed from the same store records as API v2.0 (one truth); fields BC has but
API v2.0 does not (``CatItemGroup``, the custom field of seed 004's sample payload,
``UPC_Code``, ``Replenishment_System``, ...) live in a per-store side table
(:func:`extension_values`) with deterministic defaults.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bcbridge.emulator.bc._custom_warehouse import requires_shipment
from bcbridge.emulator.bc.schema import BLANK_GUID

__all__ = ["PAGES", "WsContext", "WsField", "WsPage", "extension_values"]

Getter = Callable[["WsContext", dict], object]


@dataclass(frozen=True)
class WsField:
    """One field of a web service.

    Attributes:
        name: BC control name with ``_`` (``Unit_Price``).
        type: entities.json-style type (``string``, ``decimal``, ``boolean``, ``date``,
            ``integer``); options are ``string`` as in BC's ODataV4 metadata.
        source: The API v2.0 field it reads and writes, if any.
        get: Computed value when there is no ``source``.
        extension: Stored in the side table (editable, not part of API v2.0).
        editable: PATCH/POST may set it.
    """

    name: str
    type: str = "string"
    source: str | None = None
    get: Getter | None = None
    extension: object = None
    editable: bool = True

    @property
    def is_extension(self) -> bool:
        return self.extension is not None


@dataclass(frozen=True)
class WsPage:
    """A published page or query.

    Attributes:
        name: Service name in URLs (``ItemCard``). object_type / object_id: what BC publishes.
        entity_set: API v2.0 set the rows come from (``None`` for static tables/queries).
        keys: Key fields in key order. fields: Fields in JSON order.
        rows: Builds ``(row, source_record | None)`` pairs for a company.
        creatable / deletable: Whether POST / DELETE are served.
    """

    name: str
    object_type: str
    object_id: int
    entity_set: str | None
    keys: tuple[str, ...]
    fields: tuple[WsField, ...]
    rows: Callable[[WsContext], list[tuple[dict, dict | None]]] | None = None
    creatable: bool = False
    deletable: bool = False
    by_name: dict[str, WsField] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_name.update({f.name: f for f in self.fields})

    @property
    def types(self) -> dict[str, str]:
        return {f.name: f.type for f in self.fields}


# Side table of extension fields: store -> {(company, service, record id): {field: value}}.
# Keyed by the store object, so bc.reset() (a new store) drops every stored value.
_EXTENSIONS: weakref.WeakKeyDictionary[Any, dict[tuple[str, str, str], dict[str, object]]] = (
    weakref.WeakKeyDictionary())


def extension_values(store: Any, company_id: str, service: str, key: str) -> dict[str, object]:
    """The stored extension values of one record (a live dict the caller may update)."""
    table = _EXTENSIONS.setdefault(store, {})
    return table.setdefault((company_id.lower(), service, key.lower()), {})


class WsContext:
    """Lookups for building rows of one company (cached for one request)."""

    def __init__(self, bc: Any, company_id: str) -> None:
        self.bc = bc
        self.store = bc.store
        self.company_id = company_id
        self._sets: dict[str, list[tuple[int, dict]]] = {}
        self._by_id: dict[str, dict[str, dict]] = {}

    def records(self, entity_set: str) -> list[tuple[int, dict]]:
        if entity_set not in self._sets:
            self._sets[entity_set] = list(self.store.iter(self.company_id, entity_set))
        return self._sets[entity_set]

    def by_id(self, entity_set: str, key: object) -> dict | None:
        if entity_set not in self._by_id:
            self._by_id[entity_set] = {str(r["id"]).lower(): r for _, r in self.records(entity_set)}
        return self._by_id[entity_set].get(str(key or "").lower())

    def code(self, entity_set: str, key: object) -> str:
        if not key or key == BLANK_GUID:
            return ""
        record = self.by_id(entity_set, key)
        return str(record.get("code", "")) if record else ""


def _h(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def _date_of(name: str) -> Getter:
    return lambda ctx, r: str(r.get(name) or "")[:10] or "0001-01-01"


def _code(entity_set: str, id_field: str) -> Getter:
    return lambda ctx, r: ctx.code(entity_set, r.get(id_field))


def _const(value: object) -> Getter:
    return lambda ctx, r: value


def _ro(name: str, type_: str = "string", source: str | None = None, get: Getter | None = None) -> WsField:
    return WsField(name, type_, source, get, editable=False)


def _store_rows(entity_set: str) -> Callable[[WsContext], list[tuple[dict, dict | None]]]:
    def rows(ctx: WsContext) -> list[tuple[dict, dict | None]]:
        return [({}, record) for _, record in ctx.records(entity_set)]

    return rows


# -- ItemCard (page 30) ------------------------------------------------------------------------
def _category_name(ctx: WsContext, item: dict) -> str:
    category = ctx.by_id("itemCategories", item.get("itemCategoryId"))
    return str(category.get("displayName", "")).upper() if category else ""


ITEM_CARD = WsPage("ItemCard", "Page", 30, "items", ("No",), (
    WsField("No", source="number"),
    WsField("Description", source="displayName"),
    WsField("Type", source="type"),
    WsField("Base_Unit_of_Measure", source="baseUnitOfMeasureCode"),
    WsField("Item_Category_Code", source="itemCategoryCode"),
    WsField("Product_Group_Code", extension=lambda ctx, r: r.get("itemCategoryCode", "")),
    WsField("CatItemGroup", extension=_category_name),
    WsField("Blocked", "boolean", source="blocked"),
    WsField("GTIN", source="gtin"),
    WsField("UPC_Code", extension=lambda ctx, r: r.get("gtin", "")),
    WsField("Manufacturer_Code", extension=_const("")),
    _ro("Inventory", "decimal", source="inventory"),
    WsField("Costing_Method", extension=_const("FIFO")),
    WsField("Unit_Cost", "decimal", source="unitCost"),
    WsField("Unit_Price", "decimal", source="unitPrice"),
    WsField("Price_Includes_VAT", "boolean", source="priceIncludesTax"),
    WsField("Gen_Prod_Posting_Group", source="generalProductPostingGroupCode"),
    WsField("Inventory_Posting_Group", source="inventoryPostingGroupCode"),
    WsField("Tax_Group_Code", source="taxGroupCode"),
    WsField("Replenishment_System", extension=_const("Purchase")),
    _ro("Last_Date_Modified", "date", get=_date_of("lastModifiedDateTime")),
), _store_rows("items"), creatable=True, deletable=True)

# -- CustomerCard (page 21) --------------------------------------------------------------------
_PRICE_GROUPS = (("RETAIL", "Retail customers"), ("WHOLESALE", "Wholesale customers"),
                 ("EXPORT", "Export customers"))

CUSTOMER_CARD = WsPage("CustomerCard", "Page", 21, "customers", ("No",), (
    WsField("No", source="number"),
    WsField("Name", source="displayName"),
    WsField("Address", source="addressLine1"),
    WsField("Address_2", source="addressLine2"),
    WsField("City", source="city"),
    WsField("County", source="state"),
    WsField("Post_Code", source="postalCode"),
    WsField("Country_Region_Code", source="country"),
    WsField("Phone_No", source="phoneNumber"),
    WsField("E_Mail", source="email"),
    WsField("Home_Page", source="website"),
    WsField("Contact_Type", source="type"),
    WsField("Salesperson_Code", source="salespersonCode"),
    _ro("Balance_LCY", "decimal", source="balanceDue"),
    WsField("Credit_Limit_LCY", "decimal", source="creditLimit"),
    WsField("Blocked", source="blocked"),
    WsField("Currency_Code", source="currencyCode"),
    _ro("Payment_Terms_Code", get=_code("paymentTerms", "paymentTermsId")),
    _ro("Shipment_Method_Code", get=_code("shipmentMethods", "shipmentMethodId")),
    _ro("Payment_Method_Code", get=_code("paymentMethods", "paymentMethodId")),
    WsField("Customer_Price_Group",
            extension=lambda ctx, r: _PRICE_GROUPS[_h(r["id"]) % len(_PRICE_GROUPS)][0]),
    WsField("Tax_Liable", "boolean", source="taxLiable"),
    WsField("VAT_Registration_No", source="taxRegistrationNumber"),
    _ro("Last_Date_Modified", "date", get=_date_of("lastModifiedDateTime")),
), _store_rows("customers"), creatable=True, deletable=True)

# -- SalesOrders (page 42) and SalesOrderLines (page 46) ---------------------------------------
# API salesOrder status (Sales Order Entity Buffer) -> Sales Header Status.
_ORDER_STATUS = {"Draft": "Open", "In Review": "Pending Approval", "Open": "Released",
                 "Released": "Released"}
# API line type (invoiceLineAggLineType) -> Sales Line Type.
_LINE_TYPE = {"Comment": " ", "Account": "G/L Account", "Item": "Item", "Resource": "Resource",
              "Fixed Asset": "Fixed Asset", "Charge": "Charge (Item)", "Value": " "}


def _order_location(ctx: WsContext, order: dict) -> str:
    from bcbridge.emulator.bc._custom_warehouse import order_location

    return order_location(ctx.store, ctx.company_id, order)


_ADDRESS = (("Address", "AddressLine1"), ("Address_2", "AddressLine2"), ("City", "City"),
            ("County", "State"), ("Post_Code", "PostCode"), ("Country_Region_Code", "Country"))

SALES_ORDERS = WsPage("SalesOrders", "Page", 42, "salesOrders", ("Document_Type", "No"), (
    _ro("Document_Type", get=_const("Order")),
    _ro("No", source="number"),
    WsField("Sell_to_Customer_No", source="customerNumber"),
    _ro("Sell_to_Customer_Name", source="customerName"),
    *(WsField(f"Sell_to_{ws}", source=f"sellTo{api}") for ws, api in _ADDRESS),
    WsField("Sell_to_Phone_No", source="phoneNumber"),
    WsField("Sell_to_E_Mail", source="email"),
    WsField("External_Document_No", source="externalDocumentNumber"),
    WsField("Document_Date", "date", source="orderDate"),
    WsField("Posting_Date", "date", source="postingDate"),
    _ro("Order_Date", "date", source="orderDate"),
    WsField("Requested_Delivery_Date", "date", source="requestedDeliveryDate"),
    WsField("Salesperson_Code", source="salesperson"),
    WsField("Currency_Code", source="currencyCode"),
    _ro("Prices_Including_VAT", "boolean", source="pricesIncludeTax"),
    _ro("Payment_Terms_Code", get=_code("paymentTerms", "paymentTermsId")),
    _ro("Shipment_Method_Code", get=_code("shipmentMethods", "shipmentMethodId")),
    WsField("Ship_to_Name", source="shipToName"),
    WsField("Ship_to_Contact", source="shipToContact"),
    *(WsField(f"Ship_to_{ws}", source=f"shipTo{api}") for ws, api in _ADDRESS),
    _ro("Location_Code", get=_order_location),
    _ro("Status", get=lambda ctx, r: _ORDER_STATUS.get(str(r.get("status")), "Open")),
    _ro("Completely_Shipped", "boolean", source="fullyShipped"),
    _ro("Amount", "decimal", source="totalAmountExcludingTax"),
    _ro("Amount_Including_VAT", "decimal", source="totalAmountIncludingTax"),
), _store_rows("salesOrders"))


def _line_rows(ctx: WsContext) -> list[tuple[dict, dict | None]]:
    # Page 46 lists lines in (Document Type, Document No., Line No.) order.
    rows = [({}, line) for _, line in ctx.records("salesOrderLines")
            if ctx.by_id("salesOrders", line.get("documentId")) is not None]
    rows.sort(key=lambda row: (_document_no(ctx, row[1]), int(row[1].get("sequence") or 0)))  # type: ignore[arg-type]
    return rows


def _document_no(ctx: WsContext, line: dict) -> str:
    order = ctx.by_id("salesOrders", line.get("documentId"))
    return str(order.get("number", "")) if order else ""


SALES_ORDER_LINES = WsPage("SalesOrderLines", "Page", 46, "salesOrderLines",
                           ("Document_Type", "Document_No", "Line_No"), (
    _ro("Document_Type", get=_const("Order")),
    _ro("Document_No", get=_document_no),
    _ro("Line_No", "integer", source="sequence"),
    _ro("Type", get=lambda ctx, r: _LINE_TYPE.get(str(r.get("lineType")), " ")),
    _ro("No", source="lineObjectNumber"),
    _ro("Variant_Code", get=_code("itemVariants", "itemVariantId")),
    WsField("Description", source="description"),
    WsField("Description_2", source="description2"),
    _ro("Location_Code", get=_code("locations", "locationId")),
    WsField("Quantity", "decimal", source="quantity"),
    WsField("Unit_of_Measure_Code", source="unitOfMeasureCode"),
    WsField("Unit_Price", "decimal", source="unitPrice"),
    WsField("Line_Discount_Percent", "decimal", source="discountPercent"),
    _ro("Line_Discount_Amount", "decimal", source="discountAmount"),
    _ro("Line_Amount", "decimal", source="amountExcludingTax"),
    WsField("Qty_to_Ship", "decimal", source="shipQuantity"),
    _ro("Quantity_Shipped", "decimal", source="shippedQuantity"),
    WsField("Qty_to_Invoice", "decimal", source="invoiceQuantity"),
    _ro("Quantity_Invoiced", "decimal", source="invoicedQuantity"),
    WsField("Shipment_Date", "date", source="shipmentDate"),
), _line_rows, deletable=True)

# -- Locations (page 5703) ---------------------------------------------------------------------
LOCATIONS = WsPage("Locations", "Page", 5703, "locations", ("Code",), (
    WsField("Code", source="code"),
    WsField("Name", source="displayName"),
    WsField("Address", source="addressLine1"),
    WsField("Address_2", source="addressLine2"),
    WsField("City", source="city"),
    WsField("County", source="state"),
    WsField("Post_Code", source="postalCode"),
    WsField("Country_Region_Code", source="country"),
    WsField("Contact", source="contact"),
    WsField("Phone_No", source="phoneNumber"),
    WsField("E_Mail", source="email"),
    WsField("Home_Page", source="website"),
    _ro("Require_Shipment", "boolean", get=lambda ctx, r: requires_shipment(str(r.get("code")))),
    _ro("Require_Pick", "boolean", get=lambda ctx, r: requires_shipment(str(r.get("code")))),
    _ro("Bin_Mandatory", "boolean", get=lambda ctx, r: requires_shipment(str(r.get("code")))),
), _store_rows("locations"))


# -- ShippingAgents (page 428) and CustomerPriceGroups (page 7): BaseApp tables API v2.0 lacks.
def _static(rows: tuple[dict, ...]) -> Callable[[WsContext], list[tuple[dict, dict | None]]]:
    return lambda ctx: [(dict(row), None) for row in rows]


SHIPPING_AGENTS = WsPage("ShippingAgents", "Page", 428, None, ("Code",), (
    _ro("Code"), _ro("Name"), _ro("Internet_Address"), _ro("Account_No"),
), _static((
    {"Code": "DHL", "Name": "DHL Systems, Inc.", "Internet_Address": "www.dhl.com", "Account_No": ""},
    {"Code": "FEDEX", "Name": "Federal Express Corporation", "Internet_Address": "www.fedex.com",
     "Account_No": ""},
    {"Code": "OWN LOG.", "Name": "Own Logistics", "Internet_Address": "", "Account_No": ""},
    {"Code": "UPS", "Name": "UPS", "Internet_Address": "www.ups.com", "Account_No": ""},
)))

CUSTOMER_PRICE_GROUPS = WsPage("CustomerPriceGroups", "Page", 7, None, ("Code",), (
    _ro("Code"), _ro("Description"), _ro("Allow_Line_Disc", "boolean"),
    _ro("Allow_Invoice_Disc", "boolean"), _ro("Price_Includes_VAT", "boolean"),
    _ro("VAT_Bus_Posting_Gr_Price"),
), _static(tuple({"Code": code, "Description": text, "Allow_Line_Disc": True,
                  "Allow_Invoice_Disc": code != "EXPORT", "Price_Includes_VAT": False,
                  "VAT_Bus_Posting_Gr_Price": ""} for code, text in _PRICE_GROUPS)))


# -- Itemsbylocation (query): inventory per item and location -----------------------------------
def _items_by_location(ctx: WsContext) -> list[tuple[dict, dict | None]]:
    """Splits each item's ``inventory`` over the warehouse locations, deterministically."""
    codes = sorted(str(r.get("code")) for _, r in ctx.records("locations")
                   if requires_shipment(str(r.get("code"))))
    rows: list[tuple[dict, dict | None]] = []
    if not codes:
        return rows
    for _, item in ctx.records("items"):
        total = float(item.get("inventory") or 0)
        if not total:
            continue
        weights = [1 + _h(item["id"], code) % 4 for code in codes]
        shares = [round(total * w / sum(weights), 2) for w in weights]
        shares[0] = round(total - sum(shares[1:]), 2)
        for code, share in zip(codes, shares, strict=True):
            if share:
                rows.append(({"Item_No": item.get("number", ""), "Description": item.get("displayName", ""),
                              "Location_Code": code,
                              "Inventory": int(share) if float(share).is_integer() else share}, None))
    for index, (row, _) in enumerate(rows, start=1):
        row["AuxiliaryIndex1"] = index
    return rows


ITEMS_BY_LOCATION = WsPage("Itemsbylocation", "Query", 2554, None, ("AuxiliaryIndex1",), (
    _ro("Item_No"), _ro("Description"), _ro("Location_Code"), _ro("Inventory", "decimal"),
    _ro("AuxiliaryIndex1", "integer"),
), _items_by_location)

#: Published services by name (the Web Services page of the emulated tenant).
PAGES: dict[str, WsPage] = {page.name: page for page in (
    CUSTOMER_CARD, LOCATIONS, ITEM_CARD, SHIPPING_AGENTS, SALES_ORDERS, SALES_ORDER_LINES,
    ITEMS_BY_LOCATION, CUSTOMER_PRICE_GROUPS)}
