"""Mirrored BC data in the admin: one read-only page per entity set, raw payload pretty-printed.

The mirror is a copy of BC: it is changed by syncing, never by hand, so these pages are
view-only (change BC, or push through the outbox). Soft-deleted rows are shown, filterable
by "deleted in BC". Lists show the 5-7 columns that identify a record; the detail page has
the key fields first, then every BC field, the sync stamps and the raw payload. Amounts
and quantities are shown with BC's precision (:mod:`bcbridge.admin._display`). The action
"Sync this record from BC" reads the chosen records again (:mod:`bcbridge.sync.single`).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.http import HttpRequest
from django.utils.html import format_html

from bcbridge.admin._display import decimal_display
from bcbridge.entities import BC
from bcbridge.exceptions import BCBridgeError
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
from bcbridge.sync.single import sync_record

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


_STAMPS = (
    "bc_id",
    "etag",
    "last_modified_date_time",
    "first_synced_at",
    "synced_at",
    "seen_at",
    "deleted",
    "deleted_at",
)


class MirrorAdmin(_ReadOnly, admin.ModelAdmin):  # type: ignore[type-arg]
    """Base of the typed mirrors' pages: all rows (soft-deleted too), raw payload last."""

    list_filter = ("company", "deleted")
    date_hierarchy = "last_modified_date_time"
    list_per_page = 50
    show_full_result_count = False  # COUNT(*) over a large mirror on every page is slow
    actions = ("sync_from_bc",)
    #: the key fields shown first on the detail page (the list's columns by default)
    key_fields: tuple[str, ...] = ()

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        return self.model.all_objects.select_related("company")  # type: ignore[no-any-return]

    def _shown(self, name: str) -> str:
        """A column's name on the page: decimals through their formatted display method."""
        field = self.model._meta.get_field(name)
        return f"{name}_display" if isinstance(field, models.DecimalField) else name

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        concrete = [f.name for f in self.model._meta.concrete_fields if f.name not in {"id", "raw"}]
        first = [n for n in self.key_fields if n in concrete]
        own = {"connection", "company", "parent", *_STAMPS}
        rest = [n for n in concrete if n not in first and n not in own]
        context = [n for n in ("connection", "company", "parent") if n in concrete and n not in first]
        return (
            (None, {"fields": [self._shown(n) for n in [*first, *context]]}),
            ("All BC fields", {"fields": [self._shown(n) for n in rest], "classes": ("collapse",)}),
            ("Sync", {"fields": [n for n in _STAMPS if n in concrete and n not in first]}),
            ("Raw payload (as BC sent it)", {"fields": ["raw_payload"], "classes": ("collapse",)}),
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [name for _, options in self.get_fieldsets(request, obj) for name in options["fields"]]

    @admin.display(description="raw payload (as BC sent it)")
    def raw_payload(self, obj: Any) -> str:
        return pretty_json(obj.raw)

    @admin.action(description="Sync this record from BC (read it again now)")
    def sync_from_bc(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        from bcbridge.sync.registry import registered

        entity_set = next((name for (api, name), m in registered().items() if m.model is self.model and not api), None)
        rows = list(queryset.select_related("connection", "company")[:50])
        if entity_set is None or not rows:
            self.message_user(request, "Nothing to sync.", messages.WARNING)
            return
        for row in rows:
            try:
                with BC(row.connection) as bc:
                    result = sync_record(bc, row.company, entity_set, bc_id=row.bc_id)
            except BCBridgeError as exc:
                self.message_user(request, f"{row}: BC refused: {exc}", messages.ERROR)
                continue
            self.message_user(request, str(result), messages.SUCCESS)


class _LinesInline(_ReadOnly, admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    fk_name = "parent"
    show_change_link = True
    fields = (
        "sequence",
        "line_type",
        "line_object_number",
        "description",
        "quantity_display",
        "unit_price_display",
        "deleted",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        return self.model.all_objects.all()  # type: ignore[no-any-return]


def _decimal_methods(model: type[models.Model]) -> dict[str, Any]:
    return {
        f"{f.name}_display": decimal_display(f)
        for f in model._meta.concrete_fields
        if isinstance(f, models.DecimalField)
    }


def _inline(line_model: type[models.Model], columns: tuple[str, ...] | None = None) -> type[admin.TabularInline]:  # type: ignore[type-arg]
    methods = _decimal_methods(line_model)
    names = {f.name for f in line_model._meta.get_fields()} | set(methods)
    chosen = tuple(n for n in columns or _LinesInline.fields if n in names)
    attrs: dict[str, Any] = {
        "model": line_model,
        "__module__": __name__,
        "fields": chosen,
        "readonly_fields": chosen,
        **methods,
    }
    return type(f"{line_model.__name__}Inline", (_LinesInline,), attrs)


_DOCUMENT = ("number", "company", "status", "total_amount_including_tax", "last_modified_date_time")

#: model -> (list_display, search_fields, extra list_filter, lines inline)
_PAGES: dict[type[models.Model], tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], Any]] = {
    Item: (
        ("number", "display_name", "type", "inventory", "unit_price", "company", "last_modified_date_time"),
        ("number", "display_name", "gtin", "bc_id"),
        ("type", "blocked", "item_category_code"),
        _inline(ItemVariant, ("code", "description", "item_number", "deleted")),
    ),
    ItemVariant: (
        ("item_number", "code", "description", "company", "last_modified_date_time"),
        ("item_number", "code", "description"),
        (),
        None,
    ),
    Location: (
        ("code", "display_name", "city", "company", "last_modified_date_time"),
        ("code", "display_name"),
        (),
        None,
    ),
    Customer: (
        ("number", "display_name", "city", "balance_due", "company", "last_modified_date_time"),
        ("number", "display_name", "email", "phone_number", "bc_id"),
        ("blocked", "type"),
        None,
    ),
    Vendor: (
        ("number", "display_name", "city", "balance", "company", "last_modified_date_time"),
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
        ("number", "customer_name", "shipment_date", "company", "last_modified_date_time"),
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
            "description",
        ),
        ("document_number", "account_number", "description"),
        ("document_type",),
        None,
    ),
    SalesOrderLine: (
        ("parent", "sequence", "line_object_number", "description", "quantity", "amount_including_tax"),
        ("line_object_number", "description"),
        (),
        None,
    ),
    SalesInvoiceLine: (
        ("parent", "sequence", "line_object_number", "description", "quantity", "amount_including_tax"),
        ("line_object_number", "description"),
        (),
        None,
    ),
    SalesShipmentLine: (
        ("parent", "sequence", "line_object_number", "description", "quantity", "company"),
        ("document_no", "line_object_number", "description"),
        (),
        None,
    ),
    PurchaseInvoiceLine: (
        ("parent", "sequence", "line_object_number", "description", "quantity", "amount_including_tax"),
        ("line_object_number", "description"),
        (),
        None,
    ),
}


def _register() -> None:
    for model, (display, search, filters, inline) in _PAGES.items():
        names = {f.name for f in model._meta.get_fields()}
        methods = _decimal_methods(model)
        shown = tuple(n for n in display if n in names)
        attrs: dict[str, Any] = {
            "__module__": __name__,
            **methods,
            "key_fields": shown,
            "list_display": tuple(f"{n}_display" if f"{n}_display" in methods else n for n in shown),
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

    list_display = ("entity_set", "key", "api", "company", "last_modified_date_time", "deleted")
    list_filter = ("entity_set", "api", "company", "deleted")  # type: ignore[assignment]
    search_fields = ("key", "entity_set")
    actions = ()
    key_fields = ("entity_set", "key", "api")
