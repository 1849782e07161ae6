"""The API v2.0 schema the emulator serves, loaded from the entity catalogue.

The catalogue, ``bcbridge/data/entities.json`` (the one copy in the package: the emulator
and ``bcbridge.entities`` both read it, the tests too), lists the entity sets with their
fields in JSON order (name, type, read-only, enum captions), key and navigation
properties, taken from the AL source of the API v2.0 pages (docs/bc/7-entities.md §7.3); three enum
lists the extraction garbled are corrected there from docs/bc/7-entities.md §7.2 and BaseApp enum 10
"Country/Region Address Format". This module turns it into :class:`EntitySet` /
:class:`Field` objects. Reading a data file keeps the emulator free of imports from the
rest of bcbridge.

Containment (``items({id})/itemVariants``, ``salesOrders({id})/salesOrderLines``, ...) is
every ``Many`` navigation whose target is one of the 35 sets; the child's foreign key to the
parent is in ``_CHILD_FK``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources

__all__ = [
    "BLANK_DATE",
    "BLANK_GUID",
    "CATALOGUE",
    "EDM_TYPES",
    "EntitySet",
    "Field",
    "Navigation",
    "bound_actions",
    "entity_set",
    "schema",
]

#: The entity catalogue, relative to the ``bcbridge`` package.
CATALOGUE = "data/entities.json"

#: BC's blank values (docs/bc/7-entities.md §7.2).
BLANK_GUID = "00000000-0000-0000-0000-000000000000"
BLANK_DATE = "0001-01-01"

#: entities.json type -> Edm type in $metadata (enums are ``Microsoft.NAV.<name>``).
EDM_TYPES = {
    "GUID": "Edm.Guid",
    "string": "Edm.String",
    "boolean": "Edm.Boolean",
    "date": "Edm.Date",
    "datetime": "Edm.DateTimeOffset",
    "decimal": "Edm.Decimal",
    "integer": "Edm.Int32",
    "int64": "Edm.Int64",
}

# Child set -> field holding the parent's id (AL: SubPageLink of the API part).
_CHILD_FK = {
    "itemVariants": "itemId",
    "salesOrderLines": "documentId",
    "salesInvoiceLines": "documentId",
    "salesShipmentLines": "documentId",
    "purchaseInvoiceLines": "documentId",
    "journalLines": "journalId",
    "dimensionValues": "dimensionId",
    "timeRegistrationEntries": "employeeId",
}

# Foreign-key stems whose navigation property has another name (``paymentTermsId`` ->
# ``paymentTerm``); other stems name their navigation (``customerId`` -> ``customer``).
_FK_NAVIGATION = {"paymentTerms": "paymentTerm"}

# Top-level reads of these sets need an id or a documentId filter (docs/bc/2-urls.md §2.1).
DOCUMENT_LINE_SETS = frozenset(
    {"salesOrderLines", "salesInvoiceLines", "purchaseInvoiceLines", "salesShipmentLines"}
)

# Bound actions by entity set (docs/bc/2-urls.md §2.4), only for sets the emulator serves.
_BOUND_ACTIONS = {
    "salesInvoices": ("post", "postAndSend", "send", "cancel", "cancelAndSend",
                      "makeCorrectiveCreditMemo"),
    "salesOrders": ("shipAndInvoice",),
    "salesQuotes": ("makeInvoice", "makeOrder", "send"),
    "salesCreditMemos": ("post", "postAndSend", "send", "cancel", "cancelAndSend"),
    "purchaseInvoices": ("post",),
    "purchaseOrders": ("receiveAndInvoice",),
    "journals": ("post",),
}


@dataclass(frozen=True)
class Field:
    """One property of an entity, in JSON order.

    Attributes:
        name: JSON name, e.g. ``lastModifiedDateTime``.
        type: entities.json type: ``GUID``, ``string``, ``boolean``, ``date``, ``datetime``,
            ``decimal``, ``integer``, ``int64`` or an enum ``NAV.<name>``.
        read_only: True when AL marks it ``Editable = false``.
        enum: Captions of an enum field, else ``()``.
        max_length: BC length limit of a string (Code[20]/Text[100]...), else ``None``.
    """

    name: str
    type: str
    read_only: bool
    enum: tuple[str, ...] = ()
    max_length: int | None = None

    @property
    def edm_type(self) -> str:
        if self.type.startswith("NAV."):
            return "Microsoft." + self.type
        return EDM_TYPES[self.type]

    @property
    def is_enum(self) -> bool:
        return self.type.startswith("NAV.")

    def blank(self) -> object:
        """BC's blank value of the field's type (docs/bc/7-entities.md §7.2)."""
        if self.type == "GUID":
            return BLANK_GUID
        if self.type == "date":
            return BLANK_DATE
        if self.type == "datetime":
            return "0001-01-01T00:00:00Z"
        if self.type in ("decimal", "integer", "int64"):
            return 0
        if self.type == "boolean":
            return False
        if self.is_enum:
            return " " if " " in self.enum else (self.enum[0] if self.enum else " ")
        return ""


@dataclass(frozen=True)
class Navigation:
    """A navigation property: ``name`` -> entity set ``target`` (``Many`` or ``ZeroOrOne``)."""

    name: str
    target: str
    many: bool


@dataclass
class EntitySet:
    """One API v2.0 entity set.

    Attributes:
        name: Entity set name (``items``); ``entity`` is the entity type (``item``).
        fields: Properties in JSON order; ``by_name`` maps name -> :class:`Field`.
        key: Key property (``id`` everywhere).
        navigation: Every navigation property of entities.json, served or not.
        parent: ``(parent set, foreign-key field)`` for contained sets, else ``None``.
        children: Containment navigations to served sets: ``{nav name: child set}``.
        lookups: Single-entity navigations through a foreign key:
            ``{nav name: (id field, target set)}``, e.g. ``customer: (customerId, customers)``
            on documents, ``item``/``account``/``location`` on lines (docs/bc/3-odata-queries.md §3 lists
            them as expandable; entities.json only names some).
        modified_field: The timestamp field (``lastModifiedDateTime``; ``lastModfiedDateTime``
            on timeRegistrationEntries, ``systemModifiedAt`` on companies).
    """

    name: str
    entity: str
    fields: tuple[Field, ...]
    key: str
    navigation: tuple[Navigation, ...]
    parent: tuple[str, str] | None = None
    children: dict[str, str] = field(default_factory=dict)
    lookups: dict[str, tuple[str, str]] = field(default_factory=dict)
    by_name: dict[str, Field] = field(default_factory=dict)
    modified_field: str | None = None

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def parent_fk(self) -> str | None:
        return _CHILD_FK.get(self.name)

    @property
    def is_document_lines(self) -> bool:
        return self.name in DOCUMENT_LINE_SETS


def _max_length(name: str, type_: str) -> int | None:
    # Code[20] for numbers, Code[10] for codes, Text[100] for names (BaseApp table fields).
    if type_ != "string":
        return None
    if name in ("number", "documentNumber", "documentNo", "externalDocumentNumber",
                "customerNumber", "vendorNumber", "lineObjectNumber", "accountNumber"):
        return 20
    if name in ("code", "country", "currencyCode", "state", "postalCode", "taxCode",
                "unitOfMeasureCode", "baseUnitOfMeasureCode", "itemCategoryCode"):
        return 30 if name == "state" else (20 if name in ("postalCode", "itemCategoryCode")
                                           else 10)
    if name in ("displayName", "description", "customerName", "vendorName", "shipToName"):
        return 100
    return 250


@functools.cache
def schema() -> dict[str, EntitySet]:
    """All served entity sets by name, in entities.json order."""
    data = resources.files("bcbridge").joinpath(CATALOGUE)
    raw = json.loads(data.read_text(encoding="utf-8"))
    sets: dict[str, EntitySet] = {}
    for name, spec in raw.items():
        fields = []
        for f in spec["fields"]:
            enum = tuple(f.get("enum") or ())
            fields.append(Field(f["name"], f["type"], bool(f["readOnly"]), tuple(enum),
                                _max_length(f["name"], f["type"])))
        nav = tuple(Navigation(n["name"], n["target"], n["cardinality"] == "Many")
                    for n in spec["navigation"])
        names = {f.name for f in fields}
        modified = next((m for m in ("lastModifiedDateTime", "lastModfiedDateTime",
                                     "systemModifiedAt") if m in names), None)
        sets[name] = EntitySet(name, spec["entity"], tuple(fields), spec["key"], nav,
                               by_name={f.name: f for f in fields}, modified_field=modified)
    by_entity = {es.entity: es.name for es in sets.values()}
    for es in sets.values():
        for f in es.fields:
            if f.type != "GUID" or not f.name.endswith("Id") or f.name == es.parent_fk:
                continue
            stem = f.name[:-2]
            nav = _FK_NAVIGATION.get(stem, stem)
            target = by_entity.get(nav)
            if target is not None and target != es.name:
                es.lookups[nav] = (f.name, target)
        for n in es.navigation:
            if not n.many and n.target in sets and f"{n.name}Id" in es.by_name:
                es.lookups[n.name] = (f"{n.name}Id", n.target)
    for child, fk in _CHILD_FK.items():
        for parent in sets.values():
            for n in parent.navigation:
                if n.many and n.target == child:
                    parent.children[n.name] = child
                    sets[child].parent = (parent.name, fk)
    return sets


def entity_set(name: str) -> EntitySet | None:
    """The entity set called ``name`` (case-sensitive like BC), or ``None``."""
    return schema().get(name)


def bound_actions(name: str) -> tuple[str, ...]:
    """Names of the ``Microsoft.NAV.*`` bound actions of entity set ``name`` (docs/bc/2-urls.md §2.4)."""
    return _BOUND_ACTIONS.get(name, ())
