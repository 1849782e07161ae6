"""Mirrored sales: customers, and sales orders, invoices and shipments with their lines
(BC API v2.0, docs/bc/7-entities.md §7.3). Lines are ``header.lines``; their ``sequence`` is BC's Line No.

Columns are BC's fields in JSON order, snake_case; each column's ``bc_name`` (and help text) is BC's own
field name, which is also the key in ``raw``; its verbose name is the caption people read."""

from __future__ import annotations

from django.db import models

from bcbridge.models.mirror import (
    MirroredModel,
    boolean_field,
    date_field,
    decimal_field,
    guid_field,
    integer_field,
    text_field,
)

__all__ = [
    "Customer",
    "SalesInvoice",
    "SalesInvoiceLine",
    "SalesOrder",
    "SalesOrderLine",
    "SalesShipment",
    "SalesShipmentLine",
]


class Customer(MirroredModel):
    """BC ``customers`` (entity ``customer``, docs/bc/7-entities.md §7.3)."""

    number = text_field("number")
    display_name = text_field("displayName")
    type = text_field("type")
    address_line1 = text_field("addressLine1")
    address_line2 = text_field("addressLine2")
    city = text_field("city")
    state = text_field("state")
    country = text_field("country")
    postal_code = text_field("postalCode")
    phone_number = text_field("phoneNumber")
    email = text_field("email")
    website = text_field("website")
    salesperson_code = text_field("salespersonCode")
    balance_due = decimal_field("balanceDue")
    credit_limit = decimal_field("creditLimit")
    tax_liable = boolean_field("taxLiable")
    tax_area_id = guid_field("taxAreaId")
    tax_area_display_name = text_field("taxAreaDisplayName")
    tax_registration_number = text_field("taxRegistrationNumber")
    currency_id = guid_field("currencyId")
    currency_code = text_field("currencyCode")
    payment_terms_id = guid_field("paymentTermsId")
    shipment_method_id = guid_field("shipmentMethodId")
    payment_method_id = guid_field("paymentMethodId")
    blocked = text_field("blocked")

    class Meta(MirroredModel.Meta):
        verbose_name = "customer"
        verbose_name_plural = "customers"


class SalesOrder(MirroredModel):
    """BC ``salesOrders`` (entity ``salesOrder``, docs/bc/7-entities.md §7.3)."""

    number = text_field("number")
    external_document_number = text_field("externalDocumentNumber")
    order_date = date_field("orderDate")
    posting_date = date_field("postingDate")
    customer_id = guid_field("customerId")
    customer_number = text_field("customerNumber")
    customer_name = text_field("customerName")
    bill_to_name = text_field("billToName")
    bill_to_customer_id = guid_field("billToCustomerId")
    bill_to_customer_number = text_field("billToCustomerNumber")
    ship_to_name = text_field("shipToName")
    ship_to_contact = text_field("shipToContact")
    sell_to_address_line1 = text_field("sellToAddressLine1")
    sell_to_address_line2 = text_field("sellToAddressLine2")
    sell_to_city = text_field("sellToCity")
    sell_to_country = text_field("sellToCountry")
    sell_to_state = text_field("sellToState")
    sell_to_post_code = text_field("sellToPostCode")
    bill_to_address_line1 = text_field("billToAddressLine1")
    bill_to_address_line2 = text_field("billToAddressLine2")
    bill_to_city = text_field("billToCity")
    bill_to_country = text_field("billToCountry")
    bill_to_state = text_field("billToState")
    bill_to_post_code = text_field("billToPostCode")
    ship_to_address_line1 = text_field("shipToAddressLine1")
    ship_to_address_line2 = text_field("shipToAddressLine2")
    ship_to_city = text_field("shipToCity")
    ship_to_country = text_field("shipToCountry")
    ship_to_state = text_field("shipToState")
    ship_to_post_code = text_field("shipToPostCode")
    shortcut_dimension1_code = text_field("shortcutDimension1Code")
    shortcut_dimension2_code = text_field("shortcutDimension2Code")
    currency_id = guid_field("currencyId")
    currency_code = text_field("currencyCode")
    prices_include_tax = boolean_field("pricesIncludeTax")
    payment_terms_id = guid_field("paymentTermsId")
    shipment_method_id = guid_field("shipmentMethodId")
    salesperson = text_field("salesperson")
    partial_shipping = boolean_field("partialShipping")
    requested_delivery_date = date_field("requestedDeliveryDate")
    discount_amount = decimal_field("discountAmount")
    discount_applied_before_tax = boolean_field("discountAppliedBeforeTax")
    total_amount_excluding_tax = decimal_field("totalAmountExcludingTax")
    total_tax_amount = decimal_field("totalTaxAmount")
    total_amount_including_tax = decimal_field("totalAmountIncludingTax")
    fully_shipped = boolean_field("fullyShipped")
    status = text_field("status")
    phone_number = text_field("phoneNumber")
    email = text_field("email")

    class Meta(MirroredModel.Meta):
        verbose_name = "sales order"
        verbose_name_plural = "sales orders"


class SalesOrderLine(MirroredModel):
    """BC ``salesOrderLines`` (entity ``salesOrderLine``, docs/bc/7-entities.md §7.3).

    Children of :class:`SalesOrder` (``$expand=salesOrderLines``)."""

    parent = models.ForeignKey(SalesOrder, verbose_name="sales order", on_delete=models.CASCADE, related_name="lines")
    document_id = guid_field("documentId")
    sequence = integer_field("sequence")
    item_id = guid_field("itemId")
    account_id = guid_field("accountId")
    line_type = text_field("lineType")
    line_object_number = text_field("lineObjectNumber")
    description = text_field("description")
    description2 = text_field("description2")
    unit_of_measure_id = guid_field("unitOfMeasureId")
    unit_of_measure_code = text_field("unitOfMeasureCode")
    quantity = decimal_field("quantity")
    unit_price = decimal_field("unitPrice")
    discount_amount = decimal_field("discountAmount")
    discount_percent = decimal_field("discountPercent")
    discount_applied_before_tax = boolean_field("discountAppliedBeforeTax")
    amount_excluding_tax = decimal_field("amountExcludingTax")
    tax_code = text_field("taxCode")
    tax_percent = decimal_field("taxPercent")
    total_tax_amount = decimal_field("totalTaxAmount")
    amount_including_tax = decimal_field("amountIncludingTax")
    invoice_discount_allocation = decimal_field("invoiceDiscountAllocation")
    net_amount = decimal_field("netAmount")
    net_tax_amount = decimal_field("netTaxAmount")
    net_amount_including_tax = decimal_field("netAmountIncludingTax")
    shipment_date = date_field("shipmentDate")
    shipped_quantity = decimal_field("shippedQuantity")
    invoiced_quantity = decimal_field("invoicedQuantity")
    invoice_quantity = decimal_field("invoiceQuantity")
    ship_quantity = decimal_field("shipQuantity")
    item_variant_id = guid_field("itemVariantId")
    location_id = guid_field("locationId")

    class Meta(MirroredModel.Meta):
        verbose_name = "sales order line"
        verbose_name_plural = "sales order lines"


class SalesInvoice(MirroredModel):
    """BC ``salesInvoices`` (entity ``salesInvoice``, docs/bc/7-entities.md §7.3)."""

    number = text_field("number")
    external_document_number = text_field("externalDocumentNumber")
    invoice_date = date_field("invoiceDate")
    posting_date = date_field("postingDate")
    due_date = date_field("dueDate")
    promised_pay_date = date_field("promisedPayDate")
    customer_purchase_order_reference = text_field("customerPurchaseOrderReference")
    customer_id = guid_field("customerId")
    customer_number = text_field("customerNumber")
    customer_name = text_field("customerName")
    bill_to_name = text_field("billToName")
    bill_to_customer_id = guid_field("billToCustomerId")
    bill_to_customer_number = text_field("billToCustomerNumber")
    ship_to_name = text_field("shipToName")
    ship_to_contact = text_field("shipToContact")
    sell_to_address_line1 = text_field("sellToAddressLine1")
    sell_to_address_line2 = text_field("sellToAddressLine2")
    sell_to_city = text_field("sellToCity")
    sell_to_country = text_field("sellToCountry")
    sell_to_state = text_field("sellToState")
    sell_to_post_code = text_field("sellToPostCode")
    bill_to_address_line1 = text_field("billToAddressLine1")
    bill_to_address_line2 = text_field("billToAddressLine2")
    bill_to_city = text_field("billToCity")
    bill_to_country = text_field("billToCountry")
    bill_to_state = text_field("billToState")
    bill_to_post_code = text_field("billToPostCode")
    ship_to_address_line1 = text_field("shipToAddressLine1")
    ship_to_address_line2 = text_field("shipToAddressLine2")
    ship_to_city = text_field("shipToCity")
    ship_to_country = text_field("shipToCountry")
    ship_to_state = text_field("shipToState")
    ship_to_post_code = text_field("shipToPostCode")
    currency_id = guid_field("currencyId")
    shortcut_dimension1_code = text_field("shortcutDimension1Code")
    shortcut_dimension2_code = text_field("shortcutDimension2Code")
    currency_code = text_field("currencyCode")
    order_id = guid_field("orderId")
    order_number = text_field("orderNumber")
    payment_terms_id = guid_field("paymentTermsId")
    shipment_method_id = guid_field("shipmentMethodId")
    salesperson = text_field("salesperson")
    dispute_status_id = guid_field("disputeStatusId")
    dispute_status = text_field("disputeStatus")
    prices_include_tax = boolean_field("pricesIncludeTax")
    remaining_amount = decimal_field("remainingAmount")
    discount_amount = decimal_field("discountAmount")
    discount_applied_before_tax = boolean_field("discountAppliedBeforeTax")
    total_amount_excluding_tax = decimal_field("totalAmountExcludingTax")
    total_tax_amount = decimal_field("totalTaxAmount")
    total_amount_including_tax = decimal_field("totalAmountIncludingTax")
    status = text_field("status")
    phone_number = text_field("phoneNumber")
    email = text_field("email")

    class Meta(MirroredModel.Meta):
        verbose_name = "sales invoice"
        verbose_name_plural = "sales invoices"


class SalesInvoiceLine(MirroredModel):
    """BC ``salesInvoiceLines`` (entity ``salesInvoiceLine``, docs/bc/7-entities.md §7.3).

    Children of :class:`SalesInvoice` (``$expand=salesInvoiceLines``)."""

    parent = models.ForeignKey(
        SalesInvoice, verbose_name="sales invoice", on_delete=models.CASCADE, related_name="lines"
    )
    document_id = guid_field("documentId")
    sequence = integer_field("sequence")
    item_id = guid_field("itemId")
    account_id = guid_field("accountId")
    line_type = text_field("lineType")
    line_object_number = text_field("lineObjectNumber")
    description = text_field("description")
    description2 = text_field("description2")
    unit_of_measure_id = guid_field("unitOfMeasureId")
    unit_of_measure_code = text_field("unitOfMeasureCode")
    quantity = decimal_field("quantity")
    unit_price = decimal_field("unitPrice")
    discount_amount = decimal_field("discountAmount")
    discount_percent = decimal_field("discountPercent")
    discount_applied_before_tax = boolean_field("discountAppliedBeforeTax")
    amount_excluding_tax = decimal_field("amountExcludingTax")
    tax_code = text_field("taxCode")
    tax_percent = decimal_field("taxPercent")
    total_tax_amount = decimal_field("totalTaxAmount")
    amount_including_tax = decimal_field("amountIncludingTax")
    invoice_discount_allocation = decimal_field("invoiceDiscountAllocation")
    net_amount = decimal_field("netAmount")
    net_tax_amount = decimal_field("netTaxAmount")
    net_amount_including_tax = decimal_field("netAmountIncludingTax")
    shipment_date = date_field("shipmentDate")
    item_variant_id = guid_field("itemVariantId")
    location_id = guid_field("locationId")

    class Meta(MirroredModel.Meta):
        verbose_name = "sales invoice line"
        verbose_name_plural = "sales invoice lines"


class SalesShipment(MirroredModel):
    """BC ``salesShipments`` (entity ``salesShipment``, docs/bc/7-entities.md §7.3)."""

    number = text_field("number")
    external_document_number = text_field("externalDocumentNumber")
    invoice_date = date_field("invoiceDate")
    posting_date = date_field("postingDate")
    due_date = date_field("dueDate")
    customer_purchase_order_reference = text_field("customerPurchaseOrderReference")
    customer_id = guid_field("customerId")
    customer_number = text_field("customerNumber")
    customer_name = text_field("customerName")
    bill_to_customer_id = guid_field("billToCustomerId")
    bill_to_name = text_field("billToName")
    bill_to_customer_number = text_field("billToCustomerNumber")
    ship_to_name = text_field("shipToName")
    ship_to_contact = text_field("shipToContact")
    sell_to_address_line1 = text_field("sellToAddressLine1")
    sell_to_address_line2 = text_field("sellToAddressLine2")
    sell_to_city = text_field("sellToCity")
    sell_to_country = text_field("sellToCountry")
    sell_to_state = text_field("sellToState")
    sell_to_post_code = text_field("sellToPostCode")
    bill_to_address_line1 = text_field("billToAddressLine1")
    bill_to_address_line2 = text_field("billToAddressLine2")
    bill_to_city = text_field("billToCity")
    bill_to_country = text_field("billToCountry")
    bill_to_state = text_field("billToState")
    bill_to_post_code = text_field("billToPostCode")
    ship_to_address_line1 = text_field("shipToAddressLine1")
    ship_to_address_line2 = text_field("shipToAddressLine2")
    ship_to_city = text_field("shipToCity")
    ship_to_country = text_field("shipToCountry")
    ship_to_state = text_field("shipToState")
    ship_to_post_code = text_field("shipToPostCode")
    currency_code = text_field("currencyCode")
    order_number = text_field("orderNumber")
    payment_terms_code = text_field("paymentTermsCode")
    shipment_method_code = text_field("shipmentMethodCode")
    salesperson = text_field("salesperson")
    prices_include_tax = boolean_field("pricesIncludeTax")
    phone_number = text_field("phoneNumber")
    email = text_field("email")

    class Meta(MirroredModel.Meta):
        verbose_name = "sales shipment"
        verbose_name_plural = "sales shipments"


class SalesShipmentLine(MirroredModel):
    """BC ``salesShipmentLines`` (entity ``salesShipmentLine``, docs/bc/7-entities.md §7.3).

    Children of :class:`SalesShipment` (``$expand=salesShipmentLines``)."""

    parent = models.ForeignKey(
        SalesShipment, verbose_name="sales shipment", on_delete=models.CASCADE, related_name="lines"
    )
    document_id = guid_field("documentId")
    document_no = text_field("documentNo")
    sequence = integer_field("sequence")
    line_type = text_field("lineType")
    line_object_number = text_field("lineObjectNumber")
    description = text_field("description")
    description2 = text_field("description2")
    unit_of_measure_code = text_field("unitOfMeasureCode")
    unit_price = decimal_field("unitPrice")
    quantity = decimal_field("quantity")
    discount_percent = decimal_field("discountPercent")
    tax_percent = decimal_field("taxPercent")
    shipment_date = date_field("shipmentDate")

    class Meta(MirroredModel.Meta):
        verbose_name = "sales shipment line"
        verbose_name_plural = "sales shipment lines"
