"""The page web services the emulator publishes over API v2.0 records, with BC's names.

Each :class:`~._ws_model.WsPage` names a BaseApp page published under a service name
(seed 004's table: CustomerCard = page 21, Locations = page 5703, ItemCard = page 30,
SalesOrders = page 42, SalesOrderLines = page 46; ShippingAgents = page 428,
CustomerPriceGroups = page 7 and the Itemsbylocation query are in :mod:`._ws_reference`).
Field names are the AL control names with spaces and punctuation replaced by ``_``
(docs/bc/2-urls.md §2.3): ``No``, ``Base_Unit_of_Measure``, ``Country_Region_Code``,
``Sell_to_Customer_No``, ``Line_No``.

Rows are computed from the same store records as API v2.0 (one truth); fields BC has but
API v2.0 does not (``CatItemGroup``, the custom field of seed 004's sample payload,
``UPC_Code``, ``Replenishment_System``, ...) are extension fields with deterministic
defaults.
"""

from __future__ import annotations

from typing import Any

from bcbridge.emulator.bc._custom_warehouse import order_location, requires_shipment
from bcbridge.emulator.bc._ws_model import (
    WsContext,
    WsField,
    WsPage,
    code_of,
    const,
    date_of,
    extension_values,
    read_only,
    stable_hash,
    store_rows,
)
from bcbridge.emulator.bc._ws_reference import (
    CUSTOMER_PRICE_GROUPS,
    ITEMS_BY_LOCATION,
    PRICE_GROUPS,
    SHIPPING_AGENTS,
)

__all__ = ["PAGES", "WsContext", "WsField", "WsPage", "extension_values"]


# -- ItemCard (page 30) ------------------------------------------------------------------------
def _category_name(ctx: WsContext, item: dict[str, Any]) -> str:
    category = ctx.by_id("itemCategories", item.get("itemCategoryId"))
    return str(category.get("displayName", "")).upper() if category else ""


ITEM_CARD = WsPage(
    "ItemCard",
    "Page",
    30,
    "items",
    ("No",),
    (
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
        WsField("Manufacturer_Code", extension=const("")),
        read_only("Inventory", "decimal", source="inventory"),
        WsField("Costing_Method", extension=const("FIFO")),
        WsField("Unit_Cost", "decimal", source="unitCost"),
        WsField("Unit_Price", "decimal", source="unitPrice"),
        WsField("Price_Includes_VAT", "boolean", source="priceIncludesTax"),
        WsField("Gen_Prod_Posting_Group", source="generalProductPostingGroupCode"),
        WsField("Inventory_Posting_Group", source="inventoryPostingGroupCode"),
        WsField("Tax_Group_Code", source="taxGroupCode"),
        WsField("Replenishment_System", extension=const("Purchase")),
        read_only("Last_Date_Modified", "date", get=date_of("lastModifiedDateTime")),
    ),
    store_rows("items"),
    creatable=True,
    deletable=True,
)

# -- CustomerCard (page 21) --------------------------------------------------------------------

CUSTOMER_CARD = WsPage(
    "CustomerCard",
    "Page",
    21,
    "customers",
    ("No",),
    (
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
        read_only("Balance_LCY", "decimal", source="balanceDue"),
        WsField("Credit_Limit_LCY", "decimal", source="creditLimit"),
        WsField("Blocked", source="blocked"),
        WsField("Currency_Code", source="currencyCode"),
        read_only("Payment_Terms_Code", get=code_of("paymentTerms", "paymentTermsId")),
        read_only("Shipment_Method_Code", get=code_of("shipmentMethods", "shipmentMethodId")),
        read_only("Payment_Method_Code", get=code_of("paymentMethods", "paymentMethodId")),
        WsField(
            "Customer_Price_Group",
            extension=lambda ctx, r: PRICE_GROUPS[stable_hash(r["id"]) % len(PRICE_GROUPS)][0],
        ),
        WsField("Tax_Liable", "boolean", source="taxLiable"),
        WsField("VAT_Registration_No", source="taxRegistrationNumber"),
        read_only("Last_Date_Modified", "date", get=date_of("lastModifiedDateTime")),
    ),
    store_rows("customers"),
    creatable=True,
    deletable=True,
)

# -- SalesOrders (page 42) and SalesOrderLines (page 46) ---------------------------------------
# API salesOrder status (Sales Order Entity Buffer) -> Sales Header Status.
_ORDER_STATUS = {
    "Draft": "Open",
    "In Review": "Pending Approval",
    "Open": "Released",
    "Released": "Released",
}
# API line type (invoiceLineAggLineType) -> Sales Line Type.
_LINE_TYPE = {
    "Comment": " ",
    "Account": "G/L Account",
    "Item": "Item",
    "Resource": "Resource",
    "Fixed Asset": "Fixed Asset",
    "Charge": "Charge (Item)",
    "Value": " ",
}


def _order_location(ctx: WsContext, order: dict[str, Any]) -> str:
    return order_location(ctx.store, ctx.company_id, order)


_ADDRESS = (
    ("Address", "AddressLine1"),
    ("Address_2", "AddressLine2"),
    ("City", "City"),
    ("County", "State"),
    ("Post_Code", "PostCode"),
    ("Country_Region_Code", "Country"),
)

SALES_ORDERS = WsPage(
    "SalesOrders",
    "Page",
    42,
    "salesOrders",
    ("Document_Type", "No"),
    (
        read_only("Document_Type", get=const("Order")),
        read_only("No", source="number"),
        WsField("Sell_to_Customer_No", source="customerNumber"),
        read_only("Sell_to_Customer_Name", source="customerName"),
        *(WsField(f"Sell_to_{ws}", source=f"sellTo{api}") for ws, api in _ADDRESS),
        WsField("Sell_to_Phone_No", source="phoneNumber"),
        WsField("Sell_to_E_Mail", source="email"),
        WsField("External_Document_No", source="externalDocumentNumber"),
        WsField("Document_Date", "date", source="orderDate"),
        WsField("Posting_Date", "date", source="postingDate"),
        read_only("Order_Date", "date", source="orderDate"),
        WsField("Requested_Delivery_Date", "date", source="requestedDeliveryDate"),
        WsField("Salesperson_Code", source="salesperson"),
        WsField("Currency_Code", source="currencyCode"),
        read_only("Prices_Including_VAT", "boolean", source="pricesIncludeTax"),
        read_only("Payment_Terms_Code", get=code_of("paymentTerms", "paymentTermsId")),
        read_only("Shipment_Method_Code", get=code_of("shipmentMethods", "shipmentMethodId")),
        WsField("Ship_to_Name", source="shipToName"),
        WsField("Ship_to_Contact", source="shipToContact"),
        *(WsField(f"Ship_to_{ws}", source=f"shipTo{api}") for ws, api in _ADDRESS),
        read_only("Location_Code", get=_order_location),
        read_only("Status", get=lambda ctx, r: _ORDER_STATUS.get(str(r.get("status")), "Open")),
        read_only("Completely_Shipped", "boolean", source="fullyShipped"),
        read_only("Amount", "decimal", source="totalAmountExcludingTax"),
        read_only("Amount_Including_VAT", "decimal", source="totalAmountIncludingTax"),
    ),
    store_rows("salesOrders"),
)


def _line_rows(ctx: WsContext) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    # Page 46 lists lines in (Document Type, Document No., Line No.) order.
    rows: list[tuple[dict[str, Any], dict[str, Any] | None]] = [
        ({}, line)
        for _, line in ctx.records("salesOrderLines")
        if ctx.by_id("salesOrders", line.get("documentId")) is not None
    ]
    rows.sort(key=lambda row: (_document_no(ctx, row[1] or {}), int((row[1] or {}).get("sequence") or 0)))
    return rows


def _document_no(ctx: WsContext, line: dict[str, Any]) -> str:
    order = ctx.by_id("salesOrders", line.get("documentId"))
    return str(order.get("number", "")) if order else ""


SALES_ORDER_LINES = WsPage(
    "SalesOrderLines",
    "Page",
    46,
    "salesOrderLines",
    ("Document_Type", "Document_No", "Line_No"),
    (
        read_only("Document_Type", get=const("Order")),
        read_only("Document_No", get=_document_no),
        read_only("Line_No", "integer", source="sequence"),
        read_only("Type", get=lambda ctx, r: _LINE_TYPE.get(str(r.get("lineType")), " ")),
        read_only("No", source="lineObjectNumber"),
        read_only("Variant_Code", get=code_of("itemVariants", "itemVariantId")),
        WsField("Description", source="description"),
        WsField("Description_2", source="description2"),
        read_only("Location_Code", get=code_of("locations", "locationId")),
        WsField("Quantity", "decimal", source="quantity"),
        WsField("Unit_of_Measure_Code", source="unitOfMeasureCode"),
        WsField("Unit_Price", "decimal", source="unitPrice"),
        WsField("Line_Discount_Percent", "decimal", source="discountPercent"),
        read_only("Line_Discount_Amount", "decimal", source="discountAmount"),
        read_only("Line_Amount", "decimal", source="amountExcludingTax"),
        WsField("Qty_to_Ship", "decimal", source="shipQuantity"),
        read_only("Quantity_Shipped", "decimal", source="shippedQuantity"),
        WsField("Qty_to_Invoice", "decimal", source="invoiceQuantity"),
        read_only("Quantity_Invoiced", "decimal", source="invoicedQuantity"),
        WsField("Shipment_Date", "date", source="shipmentDate"),
    ),
    _line_rows,
    deletable=True,
)


def _warehouse_flag(ctx: WsContext, location: dict[str, Any]) -> bool:
    return requires_shipment(str(location.get("code")))


# -- Locations (page 5703) ---------------------------------------------------------------------
LOCATIONS = WsPage(
    "Locations",
    "Page",
    5703,
    "locations",
    ("Code",),
    (
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
        read_only("Require_Shipment", "boolean", get=_warehouse_flag),
        read_only("Require_Pick", "boolean", get=_warehouse_flag),
        read_only("Bin_Mandatory", "boolean", get=_warehouse_flag),
    ),
    store_rows("locations"),
)

#: Published services by name (the Web Services page of the emulated tenant).
PAGES: dict[str, WsPage] = {
    page.name: page
    for page in (
        CUSTOMER_CARD,
        LOCATIONS,
        ITEM_CARD,
        SHIPPING_AGENTS,
        SALES_ORDERS,
        SALES_ORDER_LINES,
        ITEMS_BY_LOCATION,
        CUSTOMER_PRICE_GROUPS,
    )
}
