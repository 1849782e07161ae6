"""What every mirrored BC record keeps, and the generic mirror for every other entity set.

A mirrored row is a copy of one BC entity of one company: its typed columns (BC's field
names in snake_case, on the typed models of ``models/inventory.py``, ``sales.py``, ...), the
BC key (``id`` -> ``bc_id``), ``@odata.etag`` (``etag``), ``lastModifiedDateTime``
(``last_modified_date_time``), the raw JSON payload exactly as BC sent it (``raw``, minus
expanded children, which live in their own rows), sync stamps and a soft-delete flag.

Only :mod:`bcbridge.sync` writes these tables; code reads them with the ORM. The default
manager ``objects`` hides soft-deleted rows (so ``invoice.lines.all()`` is what BC has);
``all_objects`` sees every row.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import models

from bcbridge.models.connection import Company, Connection

__all__ = [
    "LiveManager",
    "MirrorFields",
    "MirrorRecord",
    "MirroredModel",
    "boolean_field",
    "date_field",
    "datetime_field",
    "decimal_field",
    "guid_field",
    "int64_field",
    "integer_field",
    "text_field",
]


#: Words shown in capitals, and BC's own captions for a few fields (BC's pages say "No.").
_ACRONYMS = {"id": "ID", "gtin": "GTIN", "vat": "VAT", "url": "URL", "irs": "IRS", "etag": "ETag"}
_CAPTIONS = {
    "lastModifiedDateTime": "Last modified",
    "sequence": "Line no.",
    "displayName2": "Display name 2",
    "description2": "Description 2",
    "inventory": "Inventory (quantity)",
}


def human_name(bc_name: str) -> str:
    """The column caption of BC's JSON field ``bc_name``: ``displayName`` -> ``Display name``,
    ``unitPrice`` -> ``Unit price``, ``externalDocumentNumber`` -> ``External document no.``
    (BC's captions abbreviate "Number" to "No."), ``taxAreaId`` -> ``Tax area ID``."""
    if bc_name in _CAPTIONS:
        return _CAPTIONS[bc_name]
    words = re.findall(r"[a-z]+|[A-Z][a-z]*|\d+", bc_name) or [bc_name]
    out = []
    for word in words:
        lower = word.lower()
        out.append(_ACRONYMS.get(lower) or ("no." if lower == "number" else lower))
    text = " ".join(out)  # addressLine1 -> "address line 1"
    return text[0].upper() + text[1:]


def _bc(field: Any, bc_name: str) -> Any:
    """Remember BC's JSON name on the field (:mod:`bcbridge.sync.registry` maps by it)."""
    field.bc_name = bc_name
    return field


def _options(bc_name: str) -> dict[str, Any]:
    return {"verbose_name": human_name(bc_name), "help_text": f"BC field {bc_name}"}


# Column factories for BC's JSON types (docs/bc/7-entities.md §7.2). The verbose name is a caption for
# people (:func:`human_name`); BC's field name is ``field.bc_name`` and the help text.
# Strings are unbounded text: BC's Code/Text lengths vary by field and a too-short column
# would make a sync fail on PostgreSQL. Decimals keep 10 places (BC rounds to at most 5).
def text_field(bc_name: str) -> models.TextField:  # type: ignore[type-arg]
    """``string`` and enum (``NAV.*``) fields; blank is ``""`` as in BC."""
    return _bc(models.TextField(blank=True, default="", **_options(bc_name)), bc_name)  # type: ignore[no-any-return]


def guid_field(bc_name: str) -> models.UUIDField:  # type: ignore[type-arg]
    """``GUID`` fields (the blank GUID is stored as is)."""
    return _bc(models.UUIDField(null=True, blank=True, **_options(bc_name)), bc_name)  # type: ignore[no-any-return]


def decimal_field(bc_name: str) -> models.DecimalField:  # type: ignore[type-arg]
    return _bc(  # type: ignore[no-any-return]
        models.DecimalField(max_digits=38, decimal_places=10, null=True, blank=True, **_options(bc_name)), bc_name
    )


def integer_field(bc_name: str) -> models.IntegerField:  # type: ignore[type-arg]
    return _bc(models.IntegerField(null=True, blank=True, **_options(bc_name)), bc_name)  # type: ignore[no-any-return]


def int64_field(bc_name: str) -> models.BigIntegerField:  # type: ignore[type-arg]
    return _bc(models.BigIntegerField(null=True, blank=True, **_options(bc_name)), bc_name)  # type: ignore[no-any-return]


def boolean_field(bc_name: str) -> models.BooleanField:  # type: ignore[type-arg]
    return _bc(models.BooleanField(null=True, blank=True, **_options(bc_name)), bc_name)  # type: ignore[no-any-return]


def date_field(bc_name: str) -> models.DateField:  # type: ignore[type-arg]
    """``date`` fields; BC's blank date ``0001-01-01`` is kept as that date."""
    return _bc(models.DateField(null=True, blank=True, **_options(bc_name)), bc_name)  # type: ignore[no-any-return]


def datetime_field(bc_name: str) -> models.DateTimeField:  # type: ignore[type-arg]
    return _bc(models.DateTimeField(null=True, blank=True, **_options(bc_name)), bc_name)  # type: ignore[no-any-return]


class LiveManager(models.Manager):  # type: ignore[type-arg]
    """Rows BC still has (``deleted=False``)."""

    def get_queryset(self) -> models.QuerySet[Any]:
        return super().get_queryset().filter(deleted=False)


class MirrorFields(models.Model):
    """Columns shared by typed mirrors and :class:`MirrorRecord`.

    Stamps: ``first_synced_at`` when the row was created, ``synced_at`` when its content was
    last written, ``seen_at`` when BC last listed it (a full sync or a reconcile stamps every
    row it reads, so rows not stamped by a complete listing are the ones BC no longer has).
    """

    # no single-column indexes on these: the unique (company, key) index serves lookups by
    # company, and every index costs time on each bulk write of a page
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+", db_index=False)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", db_index=False)
    etag = models.CharField("ETag", max_length=255, blank=True, help_text="BC's @odata.etag")
    last_modified_date_time = models.DateTimeField(
        "Last modified", null=True, blank=True, db_index=True, help_text="BC field lastModifiedDateTime (UTC)"
    )
    raw = models.JSONField("raw payload", default=dict, blank=True)
    first_synced_at = models.DateTimeField("first synced", null=True, blank=True)
    synced_at = models.DateTimeField("last written", null=True, blank=True)
    seen_at = models.DateTimeField("last seen in BC", null=True, blank=True)
    deleted = models.BooleanField("deleted in BC", default=False, help_text="Ticked when BC no longer has this record.")
    deleted_at = models.DateTimeField("deleted at", null=True, blank=True)

    objects = LiveManager()
    all_objects = models.Manager()  # noqa: DJ012 (a manager, not a field)

    class Meta:
        abstract = True


class MirroredModel(MirrorFields):
    """Base of the typed mirrors: one row per ``(company, bc_id)``.

    Subclasses declare BC's fields as columns (snake_case of the JSON name; the mapping is
    derived by :mod:`bcbridge.sync.registry`) and register themselves there. Children
    (lines, variants) add ``parent = ForeignKey(<header model>, related_name=...)``.
    """

    bc_id = models.UUIDField("BC ID", help_text="BC's id (the record's systemId, or the document Id).")

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(fields=["company", "bc_id"], name="%(app_label)s_%(class)s_key"),
        ]

    def __str__(self) -> str:
        for name in ("number", "code", "display_name", "description", "document_number"):
            value = getattr(self, name, "")
            if value:
                return str(value)
        return str(self.bc_id)

    @classmethod
    def bc_entity(cls) -> str:
        """BC's entity name of this mirror (``item``, ``itemVariant``, ``salesInvoiceLine``): the
        class name in lowerCamelCase (docs/bc/7-entities.md lists the entity of every set)."""
        return cls.__name__[0].lower() + cls.__name__[1:]


class MirrorRecord(MirrorFields):
    """Any other entity set, custom API or web service: the payload as JSON, keyed by
    connection, company, API route, entity set and key. Adding a set needs no code and no
    migration: configure it in :class:`~bcbridge.models.SyncConfig`.

    ``api`` is ``""`` for API v2.0, ``publisher/group/version`` for a custom API and
    ``ODataV4`` for a web service. ``key`` is BC's key as text (``id`` for APIs, the
    service's key fields joined with ``,`` otherwise). Children brought with ``$expand``
    point to their header through ``parent``.
    """

    api = models.CharField("API route", max_length=200, blank=True)
    entity_set = models.CharField("entity set", max_length=128, db_index=True)
    key = models.CharField("BC key", max_length=255)
    parent = models.ForeignKey(
        "self", verbose_name="parent record", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )

    class Meta:
        verbose_name = "other mirrored record"
        verbose_name_plural = "other mirrored records (any entity set, custom API, web service)"
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "company", "api", "entity_set", "key"],
                name="bcbridge_mirrorrecord_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entity_set}({self.key})"
