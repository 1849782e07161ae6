"""Mirrored BC data in the admin: one read-only page per entity set, raw payload pretty-printed.

The mirror is a copy of BC: it is changed by syncing, never by hand, so these pages are
view-only (change BC, or push through the outbox). Soft-deleted rows are shown, filterable
by "deleted".
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.html import format_html

from bcbridge.models import (
    Customer,
    GeneralLedgerEntry,
    Item,
    ItemVariant,
    Location,
    MirrorRecord,
    PurchaseInvoice,
    PurchaseInvoiceLine,
    SalesInvoice,
    SalesInvoiceLine,
    SalesOrder,
    SalesOrderLine,
    SalesShipment,
    SalesShipmentLine,
    Vendor,
)

__all__ = ["MirrorAdmin", "MirrorRecordAdmin", "pretty_json"]


def pretty_json(value: Any) -> str:
    """``value`` as indented JSON in a ``<pre>`` block (escaped)."""
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)
    return format_html('<pre style="white-space: pre-wrap; max-height: 40em; overflow: auto">{}</pre>', text)


class _ReadOnly:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MirrorAdmin(_ReadOnly, admin.ModelAdmin):  # type: ignore[type-arg]
    """Base of the typed mirrors' pages: all rows (soft-deleted too), raw payload last."""

    list_filter = ("company", "deleted")
    date_hierarchy = "last_modified_date_time"
    list_per_page = 50
    show_full_result_count = False  # COUNT(*) over a large mirror on every page is slow

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        return self.model.all_objects.select_related("company")  # type: ignore[no-any-return]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        names = [f.name for f in self.model._meta.concrete_fields if f.name not in {"id", "raw"}]
        return [*names, "raw_payload"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.get_fields(request, obj)

    @admin.display(description="raw payload (as BC sent it)")
    def raw_payload(self, obj: Any) -> str:
        return pretty_json(obj.raw)


class _LinesInline(_ReadOnly, admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    fk_name = "parent"
    show_change_link = True
    fields = ("sequence", "line_type", "line_object_number", "description", "quantity", "unit_price", "deleted")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        return self.model.all_objects.all()  # type: ignore[no-any-return]


def _inline(line_model: type[models.Model], columns: tuple[str, ...] | None = None) -> type[admin.TabularInline]:  # type: ignore[type-arg]
    names = {f.name for f in line_model._meta.get_fields()}
    chosen = tuple(n for n in columns or _LinesInline.fields if n in names)
    attrs: dict[str, Any] = {"model": line_model, "__module__": __name__, "fields": chosen, "readonly_fields": chosen}
    return type(f"{line_model.__name__}Inline", (_LinesInline,), attrs)


_DOCUMENT = ("number", "company", "status", "total_amount_including_tax", "last_modified_date_time", "deleted")

#: model -> (list_display, search_fields, extra list_filter, lines inline)
_PAGES: dict[type[models.Model], tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], Any]] = {
    Item: (
        (
            "number",
            "display_name",
            "company",
            "type",
            "inventory",
            "unit_price",
            "blocked",
            "last_modified_date_time",
            "deleted",
        ),
        ("number", "display_name", "gtin", "bc_id"),
        ("type", "blocked", "item_category_code"),
        _inline(ItemVariant, ("code", "description", "item_number", "deleted")),
    ),
    ItemVariant: (
        ("item_number", "code", "description", "company", "deleted"),
        ("item_number", "code", "description"),
        (),
        None,
    ),
    Location: (("code", "display_name", "company", "city", "deleted"), ("code", "display_name"), (), None),
    Customer: (
        ("number", "display_name", "company", "city", "balance_due", "blocked", "last_modified_date_time", "deleted"),
        ("number", "display_name", "email", "phone_number", "bc_id"),
        ("blocked", "type"),
        None,
    ),
    Vendor: (
        ("number", "display_name", "company", "city", "balance", "blocked", "last_modified_date_time", "deleted"),
        ("number", "display_name", "email", "bc_id"),
        ("blocked",),
        None,
    ),
    SalesOrder: (
        ("number", "customer_name", *_DOCUMENT[1:]),
        ("number", "customer_number", "customer_name", "external_document_number", "bc_id"),
        ("status",),
        _inline(SalesOrderLine),
    ),
    SalesInvoice: (
        ("number", "customer_name", *_DOCUMENT[1:]),
        ("number", "customer_number", "customer_name", "external_document_number", "bc_id"),
        ("status",),
        _inline(SalesInvoiceLine),
    ),
    SalesShipment: (
        ("number", "customer_name", "company", "shipment_date", "last_modified_date_time", "deleted"),
        ("number", "customer_number", "customer_name", "order_number", "bc_id"),
        (),
        _inline(SalesShipmentLine),
    ),
    PurchaseInvoice: (
        ("number", "vendor_name", *_DOCUMENT[1:]),
        ("number", "vendor_number", "vendor_name", "bc_id"),
        ("status",),
        _inline(PurchaseInvoiceLine),
    ),
    GeneralLedgerEntry: (
        (
            "entry_number",
            "posting_date",
            "document_number",
            "account_number",
            "debit_amount",
            "credit_amount",
            "company",
        ),
        ("document_number", "account_number", "description"),
        ("document_type",),
        None,
    ),
    SalesOrderLine: (
        ("document_id", "sequence", "line_object_number", "description", "quantity", "company", "deleted"),
        ("line_object_number", "description"),
        (),
        None,
    ),
    SalesInvoiceLine: (
        ("document_id", "sequence", "line_object_number", "description", "quantity", "company", "deleted"),
        ("line_object_number", "description"),
        (),
        None,
    ),
    SalesShipmentLine: (
        ("document_no", "sequence", "line_object_number", "description", "quantity", "company", "deleted"),
        ("document_no", "line_object_number", "description"),
        (),
        None,
    ),
    PurchaseInvoiceLine: (
        ("document_id", "sequence", "line_object_number", "description", "quantity", "company", "deleted"),
        ("line_object_number", "description"),
        (),
        None,
    ),
}


def _register() -> None:
    for model, (display, search, filters, inline) in _PAGES.items():
        names = {f.name for f in model._meta.get_fields()}
        attrs: dict[str, Any] = {
            "__module__": __name__,
            "list_display": tuple(n for n in display if n in names),
            "search_fields": tuple(n for n in search if n in names),
            "list_filter": ("company", "deleted", *(n for n in filters if n in names)),
            "inlines": [inline] if inline else [],
        }
        if "last_modified_date_time" not in names:
            attrs["date_hierarchy"] = None
        admin.site.register(model, type(f"{model.__name__}Admin", (MirrorAdmin,), attrs))


_register()


@admin.register(MirrorRecord)
class MirrorRecordAdmin(MirrorAdmin):
    """Every generically mirrored entity set, custom API and web service."""

    list_display = ("entity_set", "key", "company", "api", "etag", "last_modified_date_time", "deleted")
    list_filter = ("entity_set", "api", "company", "deleted")  # type: ignore[assignment]
    search_fields = ("key", "entity_set")
