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


# Column factories for BC's JSON types (API-FACTS §7.2); the verbose name is BC's field name.
# Strings are unbounded text: BC's Code/Text lengths vary by field and a too-short column
# would make a sync fail on PostgreSQL. Decimals keep 10 places (BC rounds to at most 5).
def text_field(bc_name: str) -> models.TextField:  # type: ignore[type-arg]
    """``string`` and enum (``NAV.*``) fields; blank is ``""`` as in BC."""
    return models.TextField(bc_name, blank=True, default="")


def guid_field(bc_name: str) -> models.UUIDField:  # type: ignore[type-arg]
    """``GUID`` fields (the blank GUID is stored as is)."""
    return models.UUIDField(bc_name, null=True, blank=True)


def decimal_field(bc_name: str) -> models.DecimalField:  # type: ignore[type-arg]
    return models.DecimalField(bc_name, max_digits=38, decimal_places=10, null=True, blank=True)


def integer_field(bc_name: str) -> models.IntegerField:  # type: ignore[type-arg]
    return models.IntegerField(bc_name, null=True, blank=True)


def int64_field(bc_name: str) -> models.BigIntegerField:  # type: ignore[type-arg]
    return models.BigIntegerField(bc_name, null=True, blank=True)


def boolean_field(bc_name: str) -> models.BooleanField:  # type: ignore[type-arg]
    return models.BooleanField(bc_name, null=True, blank=True)


def date_field(bc_name: str) -> models.DateField:  # type: ignore[type-arg]
    """``date`` fields; BC's blank date ``0001-01-01`` is kept as that date."""
    return models.DateField(bc_name, null=True, blank=True)


def datetime_field(bc_name: str) -> models.DateTimeField:  # type: ignore[type-arg]
    return models.DateTimeField(bc_name, null=True, blank=True)


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
    etag = models.CharField("@odata.etag", max_length=255, blank=True)
    last_modified_date_time = models.DateTimeField("lastModifiedDateTime", null=True, blank=True, db_index=True)
    raw = models.JSONField("raw payload", default=dict, blank=True)
    first_synced_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(null=True, blank=True)
    deleted = models.BooleanField(default=False, help_text="BC no longer has this record.")
    deleted_at = models.DateTimeField(null=True, blank=True)

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

    bc_id = models.UUIDField("BC id", help_text="BC's id (the record's systemId, or the document Id).")

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
    entity_set = models.CharField(max_length=128, db_index=True)
    key = models.CharField(max_length=255)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")

    class Meta:
        verbose_name = "mirrored record (generic)"
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "company", "api", "entity_set", "key"],
                name="bcbridge_mirrorrecord_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entity_set}({self.key})"
