"""Parse BC's ``$metadata`` (OData CSDL, XML or JSON) into entity sets, fields, keys and navigations.

``GET .../api/v2.0/$metadata`` returns EDMX; enum types appear as ``NAV.<enum>`` and bound
actions as ``Microsoft.NAV.<action>`` (docs/bc/2-urls.md §2.5). Only what bcbridge needs is kept:
entity sets with their entity type's properties (name, type, nullability, length), keys,
navigation properties (and the set each one is bound to), enum members and actions.

:func:`fetch_metadata` asks for XML (``Accept: application/xml``): an OData 4.01 server
answers JSON CSDL to ``Accept: application/json`` (OData Protocol 4.01 §11.1.2), which
:func:`parse_metadata` reads as well (OData CSDL JSON 4.01). Annotations count both inline
and in ``<Annotations Target="Namespace.Type/property">`` blocks (CSDL XML 4.01 §14.2),
where servers such as SAP CAP put ``Core.Computed``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bcbridge.http import BCClient

__all__ = [
    "METADATA_ACCEPT",
    "Action",
    "EntitySet",
    "EntityType",
    "EnumType",
    "Metadata",
    "NavigationProperty",
    "Property",
    "fetch_metadata",
    "parse_metadata",
]

#: The Accept header for ``$metadata``: XML first (BC's form), JSON CSDL understood too.
METADATA_ACCEPT = "application/xml, application/json;q=0.5"

_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_EDMX = "{http://docs.oasis-open.org/odata/ns/edmx}"
_EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
_CORE = "Org.OData.Core.V1"
_READ_ONLY_TERMS = {f"{_CORE}.Computed", "Core.Computed"}
_PERMISSIONS_TERMS = {f"{_CORE}.Permissions", "Core.Permissions"}


@dataclass(frozen=True)
class Property:
    """A structural property (field).

    Attributes:
        name: JSON name, e.g. ``lastModifiedDateTime``.
        type: Qualified type, e.g. ``Edm.DateTimeOffset``, ``Microsoft.NAV.itemType``,
            ``Collection(Edm.String)``.
        nullable: ``Nullable`` (default true).
        max_length: ``MaxLength`` for strings, if given.
        precision, scale: For decimals, if given.
        read_only: Annotated ``Core.Computed`` or ``Core.Permissions/Read``.
    """

    name: str
    type: str
    nullable: bool = True
    max_length: int | None = None
    precision: int | None = None
    scale: str | None = None
    read_only: bool = False


@dataclass(frozen=True)
class NavigationProperty:
    """A navigation (``$expand`` target).

    Attributes:
        name: E.g. ``salesOrderLines``.
        type: Target entity type, qualified (``Microsoft.NAV.salesOrderLine``).
        collection: True for ``Collection(...)``.
        contains_target: ``ContainsTarget`` (child collections such as document lines).
        partner: ``Partner`` navigation name, if any.
    """

    name: str
    type: str
    collection: bool = False
    contains_target: bool = False
    partner: str | None = None


@dataclass(frozen=True)
class EntityType:
    """An entity type with its base types' members merged in.

    Attributes:
        name: Qualified name (``Microsoft.NAV.item``).
        key: Key property names (``("id",)``).
        properties: Fields by name, in document order.
        navigations: Navigation properties by name.
    """

    name: str
    key: tuple[str, ...]
    properties: dict[str, Property]
    navigations: dict[str, NavigationProperty]


@dataclass(frozen=True)
class EnumType:
    """An enum (``Microsoft.NAV.itemType``) with member names in order.

    Member names are EDM identifiers: BC writes the captions' spaces and punctuation as
    ``_xHHHH_`` (``In_x0020_Review``); :attr:`captions` gives the JSON values (``In Review``).
    """

    name: str
    members: tuple[str, ...]

    @property
    def captions(self) -> tuple[str, ...]:
        """The members as they appear in JSON."""
        return tuple(_ESCAPE.sub(lambda m: chr(int(m[1], 16)), name) for name in self.members)


@dataclass(frozen=True)
class EntitySet:
    """An entity set of the container (``items``), its type and navigation bindings."""

    name: str
    entity_type: EntityType
    bindings: dict[str, str] = field(default_factory=dict)

    @property
    def fields(self) -> dict[str, Property]:
        """The entity type's properties."""
        return self.entity_type.properties

    @property
    def key(self) -> tuple[str, ...]:
        """The entity type's key."""
        return self.entity_type.key


@dataclass(frozen=True)
class Action:
    """An action (``Microsoft.NAV.post``); ``binding`` is the bound type or ``None``."""

    name: str
    binding: str | None
    parameters: dict[str, str]


@dataclass(frozen=True)
class Metadata:
    """A parsed ``$metadata`` document.

    Attributes:
        entity_sets: By set name (``items``).
        entity_types: By qualified name.
        enum_types: By qualified name.
        actions: Actions (bound and unbound), in document order.
    """

    entity_sets: dict[str, EntitySet]
    entity_types: dict[str, EntityType]
    enum_types: dict[str, EnumType]
    actions: tuple[Action, ...]

    def bound_actions(self, entity_set: str) -> tuple[str, ...]:
        """Names of the actions bound to ``entity_set``'s type (e.g. ``("post", "send")``).

        Raises:
            KeyError: Unknown entity set.
        """
        type_name = self.entity_sets[entity_set].entity_type.name
        return tuple(a.name for a in self.actions if a.binding == type_name)


def fetch_metadata(client: BCClient, url: str) -> Metadata:
    """``GET url`` (a ``$metadata`` URL) with :data:`METADATA_ACCEPT` and parse the answer.

    Raises:
        BCAPIError, TransportError: the request failed.
        ValueError: the answer is neither EDMX nor JSON CSDL.
    """
    response = client.request("GET", url, headers={"Accept": METADATA_ACCEPT})
    return parse_metadata(response.content)


def parse_metadata(xml_bytes: bytes | str) -> Metadata:
    """Parse a CSDL document: EDMX (XML) or JSON CSDL (a JSON object with ``$Version``).

    Args:
        xml_bytes: The body of ``GET $metadata``.

    Raises:
        ValueError: Neither EDMX nor JSON CSDL, a DTD (refused: entity expansion), or a
            reference to an unknown type.
    """
    data = xml_bytes.encode() if isinstance(xml_bytes, str) else xml_bytes
    if data.lstrip()[:1] == b"{":
        from bcbridge.odata._csdl_json import parse_csdl_json

        return parse_csdl_json(data)
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise ValueError("refusing $metadata with a DTD")
    try:
        # The DTD check above removes the entity-expansion attacks ET is open to.
        root = ET.fromstring(data)  # noqa: S314
    except ET.ParseError as exc:
        raise ValueError(f"$metadata is not XML: {exc}") from exc
    if root.tag != f"{_EDMX}Edmx":
        raise ValueError(f"$metadata root is {root.tag}, not edmx:Edmx")
    schemas = root.findall(f"{_EDMX}DataServices/{_EDM}Schema")
    aliases = {s.get("Alias", ""): s.get("Namespace", "") for s in schemas if s.get("Alias")}
    for include in root.iter(f"{_EDMX}Include"):  # vocabularies: <edmx:Include Alias="Core" .../>
        if include.get("Alias"):
            aliases.setdefault(include.get("Alias", ""), include.get("Namespace", ""))

    def qualify(name: str) -> str:
        collection = name.startswith("Collection(")
        inner = name[11:-1] if collection else name
        namespace, _, local = inner.rpartition(".")
        inner = f"{aliases.get(namespace, namespace)}.{local}" if namespace else inner
        return f"Collection({inner})" if collection else inner

    # <Annotations Target="Namespace.Type/property"> blocks, by (qualified type, property).
    targeted: dict[tuple[str, str], list[ET.Element]] = {}
    for schema in schemas:
        for block in schema.findall(f"{_EDM}Annotations"):
            type_name, _, member = block.get("Target", "").partition("/")
            if member and "/" not in member:
                targeted.setdefault((qualify(type_name), member), []).extend(block.findall(f"{_EDM}Annotation"))
    raw_types: dict[str, tuple[str | None, ET.Element]] = {}
    enums: dict[str, EnumType] = {}
    actions: list[Action] = []
    for schema in schemas:
        namespace = schema.get("Namespace", "")
        for element in schema.findall(f"{_EDM}EntityType") + schema.findall(f"{_EDM}ComplexType"):
            base = element.get("BaseType")
            raw_types[f"{namespace}.{element.get('Name')}"] = (
                qualify(base) if base else None,
                element,
            )
        for element in schema.findall(f"{_EDM}EnumType"):
            name = f"{namespace}.{element.get('Name')}"
            members = tuple(m.get("Name", "") for m in element.findall(f"{_EDM}Member"))
            enums[name] = EnumType(name, members)
        for element in schema.findall(f"{_EDM}Action"):
            params = {p.get("Name", ""): qualify(p.get("Type", "")) for p in element.findall(f"{_EDM}Parameter")}
            binding = None
            if element.get("IsBound") == "true" and params:
                binding = next(iter(params.values()))
                params = dict(list(params.items())[1:])
            actions.append(Action(element.get("Name", ""), binding, params))

    types: dict[str, EntityType] = {}

    def build(name: str, trail: tuple[str, ...] = ()) -> EntityType:
        if name in types:
            return types[name]
        if name not in raw_types or name in trail:
            raise ValueError(f"$metadata refers to unknown or cyclic type {name!r}")
        base_name, element = raw_types[name]
        base = build(base_name, (*trail, name)) if base_name else None
        key = tuple(r.get("Name", "") for r in element.findall(f"{_EDM}Key/{_EDM}PropertyRef"))
        properties = dict(base.properties) if base else {}
        navigations = dict(base.navigations) if base else {}
        for prop in element.findall(f"{_EDM}Property"):
            extra = targeted.get((name, prop.get("Name", "")), [])
            properties[prop.get("Name", "")] = _property(prop, qualify, extra)
        for nav in element.findall(f"{_EDM}NavigationProperty"):
            nav_type = qualify(nav.get("Type", ""))
            collection = nav_type.startswith("Collection(")
            navigations[nav.get("Name", "")] = NavigationProperty(
                nav.get("Name", ""),
                nav_type[11:-1] if collection else nav_type,
                collection,
                nav.get("ContainsTarget") == "true",
                nav.get("Partner"),
            )
        built = EntityType(name, key or (base.key if base else ()), properties, navigations)
        types[name] = built
        return built

    for name in raw_types:
        build(name)
    sets: dict[str, EntitySet] = {}
    for schema in schemas:
        for container in schema.findall(f"{_EDM}EntityContainer"):
            for element in container.findall(f"{_EDM}EntitySet"):
                type_name = qualify(element.get("EntityType", ""))
                if type_name not in types:
                    raise ValueError(f"entity set {element.get('Name')!r} has unknown type {type_name!r}")
                bindings = {
                    b.get("Path", ""): b.get("Target", "") for b in element.findall(f"{_EDM}NavigationPropertyBinding")
                }
                sets[element.get("Name", "")] = EntitySet(element.get("Name", ""), types[type_name], bindings)
    return Metadata(sets, types, enums, tuple(actions))


def _property(element: ET.Element, qualify: Callable[[str], str], targeted: list[ET.Element]) -> Property:
    max_length = element.get("MaxLength")
    precision = element.get("Precision")
    read_only = False
    for annotation in [*element.findall(f"{_EDM}Annotation"), *targeted]:
        term = qualify(annotation.get("Term", ""))
        if term in _READ_ONLY_TERMS and annotation.get("Bool", "true") == "true":
            read_only = True
        if term in _PERMISSIONS_TERMS:
            member = annotation.get("EnumMember", "") + "".join(
                m.text or "" for m in annotation.iter(f"{_EDM}EnumMember")
            )
            read_only = read_only or member.strip().endswith("/Read")
    return Property(
        name=element.get("Name", ""),
        type=qualify(element.get("Type", "")),
        nullable=element.get("Nullable", "true") != "false",
        max_length=int(max_length) if max_length and max_length.isdigit() else None,
        precision=int(precision) if precision and precision.isdigit() else None,
        scale=element.get("Scale"),
        read_only=read_only,
    )
