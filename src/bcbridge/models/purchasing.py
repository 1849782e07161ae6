"""Mirrored purchasing: vendors and purchase invoices with their lines (BC API v2.0,
docs/bc/7-entities.md §7.3).

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

__all__ = ["PurchaseInvoice", "PurchaseInvoiceLine", "Vendor"]


class Vendor(MirroredModel):
    """BC ``vendors`` (entity ``vendor``, docs/bc/7-entities.md §7.3)."""

    number = text_field("number")
    display_name = text_field("displayName")
    address_line1 = text_field("addressLine1")
    address_line2 = text_field("addressLine2")
    city = text_field("city")
    state = text_field("state")
    country = text_field("country")
    postal_code = text_field("postalCode")
    phone_number = text_field("phoneNumber")
    email = text_field("email")
    website = text_field("website")
    tax_registration_number = text_field("taxRegistrationNumber")
    currency_id = guid_field("currencyId")
    currency_code = text_field("currencyCode")
    irs1099_code = text_field("irs1099Code")
    payment_terms_id = guid_field("paymentTermsId")
    payment_method_id = guid_field("paymentMethodId")
    tax_liable = boolean_field("taxLiable")
    blocked = text_field("blocked")
    balance = decimal_field("balance")

    class Meta(MirroredModel.Meta):
        verbose_name = "vendor"
        verbose_name_plural = "vendors"


class PurchaseInvoice(MirroredModel):
    """BC ``purchaseInvoices`` (entity ``purchaseInvoice``, docs/bc/7-entities.md §7.3)."""

    number = text_field("number")
    posting_date = date_field("postingDate")
    invoice_date = date_field("invoiceDate")
    due_date = date_field("dueDate")
    vendor_invoice_number = text_field("vendorInvoiceNumber")
    vendor_id = guid_field("vendorId")
    vendor_number = text_field("vendorNumber")
    vendor_name = text_field("vendorName")
    pay_to_name = text_field("payToName")
    pay_to_contact = text_field("payToContact")
    pay_to_vendor_id = guid_field("payToVendorId")
    pay_to_vendor_number = text_field("payToVendorNumber")
    ship_to_name = text_field("shipToName")
    ship_to_contact = text_field("shipToContact")
    buy_from_address_line1 = text_field("buyFromAddressLine1")
    buy_from_address_line2 = text_field("buyFromAddressLine2")
    buy_from_city = text_field("buyFromCity")
    buy_from_country = text_field("buyFromCountry")
    buy_from_state = text_field("buyFromState")
    buy_from_post_code = text_field("buyFromPostCode")
    ship_to_address_line1 = text_field("shipToAddressLine1")
    ship_to_address_line2 = text_field("shipToAddressLine2")
    ship_to_city = text_field("shipToCity")
    ship_to_country = text_field("shipToCountry")
    ship_to_state = text_field("shipToState")
    ship_to_post_code = text_field("shipToPostCode")
    pay_to_address_line1 = text_field("payToAddressLine1")
    pay_to_address_line2 = text_field("payToAddressLine2")
    pay_to_city = text_field("payToCity")
    pay_to_country = text_field("payToCountry")
    pay_to_state = text_field("payToState")
    pay_to_post_code = text_field("payToPostCode")
    shortcut_dimension1_code = text_field("shortcutDimension1Code")
    shortcut_dimension2_code = text_field("shortcutDimension2Code")
    currency_id = guid_field("currencyId")
    currency_code = text_field("currencyCode")
    order_id = guid_field("orderId")
    order_number = text_field("orderNumber")
    purchaser = text_field("purchaser")
    prices_include_tax = boolean_field("pricesIncludeTax")
    discount_amount = decimal_field("discountAmount")
    discount_applied_before_tax = boolean_field("discountAppliedBeforeTax")
    total_amount_excluding_tax = decimal_field("totalAmountExcludingTax")
    total_tax_amount = decimal_field("totalTaxAmount")
    total_amount_including_tax = decimal_field("totalAmountIncludingTax")
    status = text_field("status")

    class Meta(MirroredModel.Meta):
        verbose_name = "purchase invoice"
        verbose_name_plural = "purchase invoices"


class PurchaseInvoiceLine(MirroredModel):
    """BC ``purchaseInvoiceLines`` (entity ``purchaseInvoiceLine``, docs/bc/7-entities.md §7.3).

    Children of :class:`PurchaseInvoice` (``$expand=purchaseInvoiceLines``)."""

    parent = models.ForeignKey(
        PurchaseInvoice, verbose_name="purchase invoice", on_delete=models.CASCADE, related_name="lines"
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
    unit_cost = decimal_field("unitCost")
    quantity = decimal_field("quantity")
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
    expected_receipt_date = date_field("expectedReceiptDate")
    item_variant_id = guid_field("itemVariantId")
    location_id = guid_field("locationId")

    class Meta(MirroredModel.Meta):
        verbose_name = "purchase invoice line"
        verbose_name_plural = "purchase invoice lines"
