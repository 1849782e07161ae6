"""Which model mirrors which entity set, and how BC's JSON fields map to its columns.

Typed models register here (the core sets below); every other entity set, custom API set
or web service falls back to the generic :class:`~bcbridge.models.MirrorRecord`, so adding
a set needs no code and no migration. A project adds its own typed mirror with::

    from bcbridge.sync.registry import register
    register("carBrands", CarBrand, api="contoso/cars/v1.0")

Columns are derived from the model: each field's ``bc_name`` is BC's JSON field name (the
column factories of :mod:`bcbridge.models.mirror` set it; a field without one uses its
``verbose_name``), values are converted from
JSON by the field's type (docs/bc/7-entities.md §7.2: GUIDs, ``date``, ``datetime`` in UTC with ``Z``,
decimals as JSON numbers).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models

from bcbridge.entities.catalog import catalog
from bcbridge.models import (
    Company,
    Customer,
    GeneralLedgerEntry,
    Item,
    ItemVariant,
    Location,
    MirroredModel,
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

__all__ = [
    "DEFAULT_SETS",
    "WEB_SERVICE",
    "Column",
    "Mirror",
    "mirror_for",
    "parse_datetime",
    "register",
    "registered",
    "typed_instance",
    "web_service_mirror",
]

#: Fields every mirror fills itself (not from a same-named JSON field).
_OWN = frozenset(
    {
        "id",
        "connection",
        "company",
        "etag",
        "last_modified_date_time",
        "raw",
        "first_synced_at",
        "synced_at",
        "seen_at",
        "deleted",
        "deleted_at",
        "bc_id",
        "parent",
        "api",
        "entity_set",
        "key",
    }
)


def parse_datetime(value: Any) -> datetime | None:
    """BC's ``Edm.DateTimeOffset`` (``2020-08-21T00:24:19.347Z``) as an aware datetime."""
    if not value:
        return None
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _guid(value: Any) -> str | uuid.UUID | None:
    # kept as BC's text: parsing every GUID column costs more than writing it; the database
    # adapters of bcbridge.sync._sql store it as the ORM would, and instances handed to
    # signal receivers get uuid.UUID values (registry.typed_instance)
    return value or None


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else value


def _decimal(value: Any) -> str | Decimal | None:
    # JSON numbers are written as their text: str() of a float is its shortest repr, so
    # 152.03 stays 152.03 (not 152.0299999...); both databases parse it into the decimal
    # column exactly as the ORM's str(Decimal) (instances for receivers get Decimals)
    if value is None or isinstance(value, Decimal | str):
        return value
    return str(value)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _same(value: Any) -> Any:
    return value


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "UUIDField": _guid,
    "DateField": _date,
    "DateTimeField": parse_datetime,
    "DecimalField": _decimal,
    "TextField": _text,
    "CharField": _text,
}


@dataclass(frozen=True)
class Column:
    """One JSON field (``source``) stored in the model attribute ``attname``."""

    source: str
    attname: str
    convert: Callable[[Any], Any]


@dataclass(frozen=True)
class Mirror:
    """How one entity set is stored.

    Attributes:
        entity_set: BC's entity set name.
        model: A :class:`~bcbridge.models.MirroredModel` subclass or ``MirrorRecord``.
        api: ``""`` (API v2.0) or ``publisher/group/version``.
        columns: Typed columns filled from the payload (empty for the generic model).
        key: The JSON key field (``id`` for every API v2.0 set).
        modified_field: The change-tracking timestamp, or ``None`` (then every sync is a
            full listing).
        children: Navigation name -> child entity set, for ``$expand`` (docs/bc/3-odata-queries.md §3).
        default_children: Children brought by default (lines of documents, item variants).
        key_fields: A web service's key fields (from ``$metadata``; several for pages such as
            ``SalesOrders``: ``Document_Type``, ``No``); the stored key joins their values
            with ``,``. Empty for APIs, whose key is ``key``.
    """

    entity_set: str
    model: type[models.Model]
    api: str = ""
    columns: tuple[Column, ...] = ()
    key: str = "id"
    modified_field: str | None = "lastModifiedDateTime"
    children: Mapping[str, str] = field(default_factory=dict)
    default_children: tuple[str, ...] = ()
    key_fields: tuple[str, ...] = ()

    @property
    def generic(self) -> bool:
        return self.model is MirrorRecord

    @property
    def key_attr(self) -> str:
        return "key" if self.generic else "bc_id"

    def parse_key(self, value: Any) -> Any:
        """BC's key as stored: a UUID for typed mirrors, text for the generic one."""
        if self.generic:
            return str(value)
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))

    def key_of(self, record: Mapping[str, Any]) -> Any:
        """The stored key of a payload.

        Raises:
            ValueError: a key field is missing (left out of ``$select``?).
        """
        names = self.key_fields or (self.key,)
        missing = [name for name in names if name not in record]
        if missing:
            raise ValueError(f"{self.entity_set}: a record has no {', '.join(missing)}; is it in $select?")
        if self.key_fields:
            return ",".join(str(record[name]) for name in self.key_fields)
        return self.parse_key(record[self.key])

    @property
    def select_fields(self) -> list[str]:
        """What reconciliation lists: the key field(s) and the change-tracking field."""
        return [*(self.key_fields or (self.key,)), *([self.modified_field] if self.modified_field else [])]

    def scope(self, company: Company) -> dict[str, Any]:
        """Filter selecting this set's rows of ``company``."""
        if self.generic:
            return {"company": company, "api": self.api, "entity_set": self.entity_set}
        return {"company": company}

    @property
    def unique_fields(self) -> list[str]:
        if self.generic:
            return ["connection", "company", "api", "entity_set", "key"]
        return ["company", "bc_id"]

    def values(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The typed column values of one payload (fields absent from it are left out)."""
        out: dict[str, Any] = {}
        for column in self.columns:
            if column.source in record:
                out[column.attname] = column.convert(record[column.source])
        return out


def typed_instance(model: type[models.Model], values: dict[str, Any]) -> models.Model:
    """A model instance from written column values, GUID and decimal text turned into
    ``uuid.UUID`` and ``Decimal``."""
    instance = model(**values)
    for model_field in model._meta.concrete_fields:
        kind = model_field.get_internal_type()
        value = getattr(instance, model_field.attname)
        if isinstance(value, str) and kind == "UUIDField":
            setattr(instance, model_field.attname, uuid.UUID(value))
        elif isinstance(value, str) and kind == "DecimalField":
            setattr(instance, model_field.attname, Decimal(value))
    return instance


_registry: dict[tuple[str, str], Mirror] = {}

#: The core sets configured by default: entity set -> (children, poll interval in seconds).
DEFAULT_SETS: dict[str, tuple[tuple[str, ...], int]] = {
    "items": (("itemVariants",), 300),
    "customers": ((), 300),
    "vendors": ((), 900),
    "locations": ((), 3600),
    "salesOrders": (("salesOrderLines",), 300),
    "salesInvoices": (("salesInvoiceLines",), 300),
    "salesShipments": (("salesShipmentLines",), 300),
    "purchaseInvoices": (("purchaseInvoiceLines",), 900),
    "generalLedgerEntries": ((), 900),
}


def _columns(model: type[models.Model]) -> tuple[Column, ...]:
    columns = []
    for model_field in model._meta.concrete_fields:
        if model_field.name in _OWN:
            continue
        convert = _CONVERTERS.get(model_field.get_internal_type(), _same)
        columns.append(
            Column(getattr(model_field, "bc_name", None) or str(model_field.verbose_name), model_field.attname, convert)
        )
    return tuple(columns)


def register(
    entity_set: str,
    model: type[models.Model],
    *,
    api: str = "",
    children: Mapping[str, str] | None = None,
    default_children: tuple[str, ...] = (),
    key: str = "id",
    modified_field: str | None = None,
) -> Mirror:
    """Mirror ``entity_set`` (of the API ``api``) into ``model``.

    Args:
        entity_set: BC's entity set name.
        model: A :class:`~bcbridge.models.MirroredModel` subclass whose fields' verbose
            names are BC's JSON field names; children have a ``parent`` foreign key.
        api: ``""`` for API v2.0, else ``publisher/group/version``.
        children: Navigation name -> child entity set (default: the catalog's contained
            sets that are registered too).
        default_children: Children brought unless the configuration says otherwise.
        key: JSON key field.
        modified_field: Change-tracking field (default: the catalog's, else none).

    Returns:
        The registered :class:`Mirror` (replacing any earlier one for the same set).
    """
    if not issubclass(model, MirroredModel):
        raise TypeError(f"{model.__name__} must subclass bcbridge.models.MirroredModel")
    spec = catalog().get(entity_set) if not api else None
    if modified_field is None and spec is not None:
        modified_field = spec.modified_field
    mirror = Mirror(
        entity_set=entity_set,
        model=model,
        api=api,
        columns=_columns(model),
        key=key,
        modified_field=modified_field,
        children=dict(children or {}),
        default_children=default_children,
    )
    _registry[(api, entity_set)] = mirror
    return mirror


def registered() -> dict[tuple[str, str], Mirror]:
    """Every typed mirror by ``(api, entity_set)``."""
    return dict(_registry)


def mirror_for(entity_set: str, api: str = "") -> Mirror:
    """The typed mirror of ``entity_set``, else a generic one (``MirrorRecord``).

    A generic API v2.0 set takes its key, change-tracking field and children from the
    catalog; a custom API set is assumed to have ``id`` and ``lastModifiedDateTime``, as
    custom API pages conventionally do (docs/bc/2-urls.md §2.2).
    """
    found = _registry.get((api, entity_set))
    if found is not None:
        return found
    spec = catalog().get(entity_set) if not api else None
    if spec is not None:
        return Mirror(
            entity_set=entity_set,
            model=MirrorRecord,
            api=api,
            key=spec.key,
            modified_field=spec.modified_field,
            children={name: name for name in spec.contained},
        )
    return Mirror(entity_set=entity_set, model=MirrorRecord, api=api)


#: ``api`` of OData v4 web services (pages and queries published in BC, docs/bc/2-urls.md §2.3).
WEB_SERVICE = "ODataV4"


def web_service_mirror(entity_set: str, key_fields: tuple[str, ...]) -> Mirror:
    """The generic mirror of a web service: keyed by its ``$metadata`` key fields, fully
    listed on every sync (web services have no ``lastModifiedDateTime``)."""
    return Mirror(
        entity_set=entity_set,
        model=MirrorRecord,
        api=WEB_SERVICE,
        key=key_fields[0],
        key_fields=key_fields,
        modified_field=None,
    )


def _register_core() -> None:
    register("items", Item, children={"itemVariants": "itemVariants"}, default_children=("itemVariants",))
    register("itemVariants", ItemVariant)
    register("locations", Location)
    register("customers", Customer)
    register("vendors", Vendor)
    for header, model, lines, line_model in (
        ("salesOrders", SalesOrder, "salesOrderLines", SalesOrderLine),
        ("salesInvoices", SalesInvoice, "salesInvoiceLines", SalesInvoiceLine),
        ("salesShipments", SalesShipment, "salesShipmentLines", SalesShipmentLine),
        ("purchaseInvoices", PurchaseInvoice, "purchaseInvoiceLines", PurchaseInvoiceLine),
    ):
        register(header, model, children={lines: lines}, default_children=(lines,))
        register(lines, line_model)
    register("generalLedgerEntries", GeneralLedgerEntry)


_register_core()
