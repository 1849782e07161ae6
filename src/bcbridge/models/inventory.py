"""Mirrored inventory: items with their variants, and locations (BC API v2.0, docs/bc/7-entities.md §7.3).

Columns are BC's fields in JSON order, snake_case; each column's ``bc_name`` (and help text) is BC's own
field name, which is also the key in ``raw``; its verbose name is the caption people read."""

from __future__ import annotations

from django.db import models

from bcbridge.models.mirror import (
    MirroredModel,
    boolean_field,
    decimal_field,
    guid_field,
    text_field,
)

__all__ = ["Item", "ItemVariant", "Location"]


class Item(MirroredModel):
    """BC ``items`` (entity ``item``, docs/bc/7-entities.md §7.3)."""

    number = text_field("number")
    display_name = text_field("displayName")
    display_name2 = text_field("displayName2")
    type = text_field("type")
    item_category_id = guid_field("itemCategoryId")
    item_category_code = text_field("itemCategoryCode")
    blocked = boolean_field("blocked")
    gtin = text_field("gtin")
    inventory = decimal_field("inventory")
    unit_price = decimal_field("unitPrice")
    price_includes_tax = boolean_field("priceIncludesTax")
    unit_cost = decimal_field("unitCost")
    tax_group_id = guid_field("taxGroupId")
    tax_group_code = text_field("taxGroupCode")
    base_unit_of_measure_id = guid_field("baseUnitOfMeasureId")
    base_unit_of_measure_code = text_field("baseUnitOfMeasureCode")
    general_product_posting_group_id = guid_field("generalProductPostingGroupId")
    general_product_posting_group_code = text_field("generalProductPostingGroupCode")
    inventory_posting_group_id = guid_field("inventoryPostingGroupId")
    inventory_posting_group_code = text_field("inventoryPostingGroupCode")

    class Meta(MirroredModel.Meta):
        verbose_name = "item"
        verbose_name_plural = "items"


class ItemVariant(MirroredModel):
    """BC ``itemVariants`` (entity ``itemVariant``, docs/bc/7-entities.md §7.3).

    Children of :class:`Item` (``$expand=itemVariants``)."""

    parent = models.ForeignKey(Item, verbose_name="item", on_delete=models.CASCADE, related_name="variants")
    item_id = guid_field("itemId")
    item_number = text_field("itemNumber")
    code = text_field("code")
    description = text_field("description")

    class Meta(MirroredModel.Meta):
        verbose_name = "item variant"
        verbose_name_plural = "item variants"


class Location(MirroredModel):
    """BC ``locations`` (entity ``location``, docs/bc/7-entities.md §7.3)."""

    code = text_field("code")
    display_name = text_field("displayName")
    contact = text_field("contact")
    address_line1 = text_field("addressLine1")
    address_line2 = text_field("addressLine2")
    city = text_field("city")
    state = text_field("state")
    country = text_field("country")
    postal_code = text_field("postalCode")
    phone_number = text_field("phoneNumber")
    email = text_field("email")
    website = text_field("website")

    class Meta(MirroredModel.Meta):
        verbose_name = "location"
        verbose_name_plural = "locations"
