"""JSON CSDL (OData CSDL JSON Format 4.01) into the same :class:`Metadata` as the XML parser.

The document is an object: ``$Version``, ``$EntityContainer`` (qualified name), and one member
per schema namespace, whose members are the schema elements, each with ``$Kind``
(``EntityType``, ``ComplexType``, ``EnumType``, ``Action`` as an array of overloads,
``EntityContainer``). Defaults differ from XML: a property's ``$Type`` defaults to
``Edm.String`` and ``$Nullable`` to false (CSDL JSON §7.2, §7.2.1); ``$Collection`` true
marks collections; annotations are ``@Term`` members inline or in the schema's
``$Annotations`` object keyed by target path (§14.3).
"""

from __future__ import annotations

from typing import Any

import orjson

from bcbridge.odata.metadata import (
    Action,
    EntitySet,
    EntityType,
    EnumType,
    Metadata,
    NavigationProperty,
    Property,
)

__all__ = ["parse_csdl_json"]

_CORE = "Org.OData.Core.V1"


def parse_csdl_json(data: bytes) -> Metadata:
    """Parse a JSON CSDL document.

    Raises:
        ValueError: Not a JSON CSDL object, or a reference to an unknown or cyclic type.
    """
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"$metadata is neither XML nor JSON: {exc}") from exc
    if not isinstance(document, dict) or "$Version" not in document:
        raise ValueError("$metadata JSON has no $Version: not a JSON CSDL document")
    schemas = {ns: body for ns, body in document.items() if not ns.startswith("$") and isinstance(body, dict)}
    aliases = {body["$Alias"]: ns for ns, body in schemas.items() if body.get("$Alias")}
    for reference in (document.get("$Reference") or {}).values():
        for include in reference.get("$Include", []):
            if include.get("$Alias"):
                aliases.setdefault(include["$Alias"], include.get("$Namespace", ""))

    def qualify(name: str) -> str:
        namespace, _, local = name.rpartition(".")
        return f"{aliases.get(namespace, namespace)}.{local}" if namespace else name

    targeted: dict[tuple[str, str], dict[str, Any]] = {}
    raw: dict[str, dict[str, Any]] = {}
    enums: dict[str, EnumType] = {}
    actions: list[Action] = []
    containers: list[dict[str, Any]] = []
    for namespace, schema in schemas.items():
        for target, terms in (schema.get("$Annotations") or {}).items():
            type_name, _, member = target.partition("/")
            if member and "/" not in member:
                targeted.setdefault((qualify(type_name), member), {}).update(terms)
        for local, element in schema.items():
            if local.startswith("$") or local.startswith("@"):
                continue
            name = f"{namespace}.{local}"
            kind = element[0].get("$Kind") if isinstance(element, list) and element else element.get("$Kind")
            if kind in {"EntityType", "ComplexType"}:
                raw[name] = element
            elif kind == "EnumType":
                members = tuple(k for k in element if not k.startswith("$") and not k.startswith("@"))
                enums[name] = EnumType(name, members)
            elif kind == "Action":
                for overload in element:
                    params = {p["$Name"]: qualify(_type_of(p)) for p in overload.get("$Parameter", [])}
                    binding = None
                    if overload.get("$IsBound") and params:
                        binding = next(iter(params.values()))
                        params = dict(list(params.items())[1:])
                    actions.append(Action(local, binding, params))
            elif kind == "EntityContainer":
                containers.append(element)

    types: dict[str, EntityType] = {}

    def build(name: str, trail: tuple[str, ...] = ()) -> EntityType:
        if name in types:
            return types[name]
        if name not in raw or name in trail:
            raise ValueError(f"$metadata refers to unknown or cyclic type {name!r}")
        element = raw[name]
        base = build(qualify(element["$BaseType"]), (*trail, name)) if element.get("$BaseType") else None
        properties = dict(base.properties) if base else {}
        navigations = dict(base.navigations) if base else {}
        for member, value in element.items():
            if member.startswith("$") or member.startswith("@") or not isinstance(value, dict):
                continue
            if value.get("$Kind") == "NavigationProperty":
                navigations[member] = NavigationProperty(
                    member,
                    qualify(value.get("$Type", "")),
                    bool(value.get("$Collection")),
                    bool(value.get("$ContainsTarget")),
                    value.get("$Partner"),
                )
            else:
                annotations = {**value, **targeted.get((name, member), {})}
                properties[member] = _property(member, value, qualify, annotations)
        key = tuple(k if isinstance(k, str) else next(iter(k.values())) for k in element.get("$Key", []))
        built = EntityType(name, key or (base.key if base else ()), properties, navigations)
        types[name] = built
        return built

    for name in raw:
        build(name)
    sets: dict[str, EntitySet] = {}
    for container in containers:
        for set_name, value in container.items():
            if set_name.startswith("$") or not isinstance(value, dict) or not value.get("$Collection"):
                continue  # singletons, function and action imports
            type_name = qualify(value.get("$Type", ""))
            if type_name not in types:
                raise ValueError(f"entity set {set_name!r} has unknown type {type_name!r}")
            bindings = dict(value.get("$NavigationPropertyBinding") or {})
            sets[set_name] = EntitySet(set_name, types[type_name], bindings)
    return Metadata(sets, types, enums, tuple(actions))


def _type_of(value: dict[str, Any]) -> str:
    name = str(value.get("$Type", "Edm.String"))
    return f"Collection({name})" if value.get("$Collection") else name


def _property(name: str, value: dict[str, Any], qualify: Any, annotations: dict[str, Any]) -> Property:
    type_name = _type_of(value)
    if type_name.startswith("Collection("):
        type_name = f"Collection({qualify(type_name[11:-1])})"
    else:
        type_name = qualify(type_name)
    read_only = False
    for term, setting in annotations.items():
        if not term.startswith("@"):
            continue
        full = qualify(term[1:].split("#")[0])
        if full in {f"{_CORE}.Computed", "Core.Computed"} and setting is not False:
            read_only = True
        if full in {f"{_CORE}.Permissions", "Core.Permissions"}:
            member = setting.get("$EnumMember", "") if isinstance(setting, dict) else str(setting)
            read_only = read_only or member.strip() in {"Read", f"{_CORE}.Permission/Read", "Core.Permission/Read"}
    max_length = value.get("$MaxLength")
    precision = value.get("$Precision")
    scale = value.get("$Scale")
    return Property(
        name=name,
        type=type_name,
        nullable=bool(value.get("$Nullable", False)),
        max_length=max_length if isinstance(max_length, int) else None,
        precision=precision if isinstance(precision, int) else None,
        scale=str(scale) if scale is not None else None,
        read_only=read_only,
    )
