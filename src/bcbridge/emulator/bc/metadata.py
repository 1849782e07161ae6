"""The service document and ``$metadata`` (CSDL/EDMX) of the API v2.0 route.

Generated from :mod:`.schema`: one ``EntityType`` per entity set with its properties in JSON
order (Edm types; enums as ``Microsoft.NAV.<enum>`` ``EnumType`` with their captions as
member names, as BC lists them), the key, navigation properties (containment ones with
``ContainsTarget``), the ``EntityContainer`` with every entity set, and the bound actions
``Microsoft.NAV.<action>`` of docs/bc/2-urls.md §2.4 (Microsoft Learn ``devenv-connect-apps-tips.md``,
docs/bc/2-urls.md §2.5).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING
from xml.sax.saxutils import quoteattr

from werkzeug.wrappers import Response

from bcbridge.emulator.bc import attachments, pictures
from bcbridge.emulator.bc.schema import EDM_TYPES, bound_actions, schema
from bcbridge.emulator.errors import json_response

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

    from bcbridge.emulator.bc import BusinessCentral

__all__ = ["metadata_response", "metadata_xml", "service_document"]

NAMESPACE = "Microsoft.NAV"


def service_document(bc: BusinessCentral, request: Request, prefix: str) -> Response:
    """``GET .../api/v2.0``: the OData service document listing every entity set."""
    from bcbridge.emulator.bc.reads import base_url

    names = [*schema(), *attachments.SETS, "pictures"]
    value = [{"name": name, "kind": "EntitySet", "url": name} for name in names]
    return json_response({"@odata.context": f"{base_url(bc, request)}{prefix}/$metadata",
                          "value": value})


def _member(caption: str) -> str:
    # EDM member names must be identifiers; BC encodes spaces and punctuation as _x00XX_.
    out = []
    for ch in caption:
        out.append(ch if ch.isalnum() or ch == "_" else f"_x{ord(ch):04x}_")
    name = "".join(out)
    return name if name and not name[0].isdigit() else f"_{name}"


@functools.cache
def metadata_xml() -> str:
    """The EDMX document (cached: the schema never changes at run time)."""
    sets = schema()
    enums: dict[str, tuple[str, ...]] = {}
    types = []
    for es in sets.values():
        lines = [f'<EntityType Name="{es.entity}">',
                 f'<Key><PropertyRef Name="{es.key}" /></Key>']
        for f in es.fields:
            if f.is_enum:
                enums.setdefault(f.type[len("NAV."):], f.enum)
            nullable = ' Nullable="false"' if f.name == es.key else ""
            extra = ' Scale="Variable"' if f.type == "decimal" else ""
            extra += f' MaxLength="{f.max_length}"' if f.max_length and f.type == "string" else ""
            lines.append(f'<Property Name="{f.name}" Type="{f.edm_type}"{nullable}{extra} />')
        for nav in es.navigation:
            target = sets.get(nav.target)
            entity = target.entity if target else nav.target.rstrip("s")
            type_ = f"Collection({NAMESPACE}.{entity})" if nav.many else f"{NAMESPACE}.{entity}"
            contained = nav.name in es.children or (nav.name == "picture" and es.name in pictures.PARENTS)
            contains = ' ContainsTarget="true"' if contained else ""
            lines.append(f'<NavigationProperty Name="{nav.name}" Type="{type_}"{contains} />')
        listed = {nav.name for nav in es.navigation}
        for name, (_, target_set) in es.lookups.items():
            if name not in listed:
                lines.append(f'<NavigationProperty Name="{name}" '
                             f'Type="{NAMESPACE}.{sets[target_set].entity}" />')
        lines.append("</EntityType>")
        types.append("\n".join(lines))
    # resources/dynamics_picture: "Customer", "Item", "Vendor", "Employee"
    enums.setdefault("pictureEntityParentType", tuple(pictures.PARENTS.values()))
    enum_xml = []
    for name, captions in sorted(enums.items()):
        members = "".join(f'<Member Name={quoteattr(_member(c))} Value="{i}" />'
                          for i, c in enumerate(captions))
        enum_xml.append(f'<EnumType Name="{name}">{members}</EnumType>')
    actions = []
    for es in sets.values():
        for action in bound_actions(es.name):
            actions.append(
                f'<Action Name="{action}" IsBound="true"><Parameter Name="bindingParameter" '
                f'Type="{NAMESPACE}.{es.entity}" /></Action>')
    for name, fields in attachments.SETS.items():
        # attachment / documentAttachment (API v2.0 reference): the file is the
        # attachmentContent stream property
        entity = attachments.ENTITY[name]
        lines = [f'<EntityType Name="{entity}">', '<Key><PropertyRef Name="id" /></Key>']
        for field, type_ in fields:
            nullable = ' Nullable="false"' if field == "id" else ""
            lines.append(f'<Property Name="{field}" Type="{EDM_TYPES[type_]}"{nullable} />')
        lines += ['<Property Name="attachmentContent" Type="Edm.Stream" />', "</EntityType>"]
        types.append("\n".join(lines))
    # picture (resources/dynamics_picture): the image is the pictureContent stream property
    lines = ['<EntityType Name="picture">', '<Key><PropertyRef Name="id" /></Key>']
    for field, type_ in pictures.FIELDS:
        edm = f"{NAMESPACE}.{type_[len('NAV.'):]}" if type_.startswith("NAV.") else EDM_TYPES[type_]
        nullable = ' Nullable="false"' if field == "id" else ""
        lines.append(f'<Property Name="{field}" Type="{edm}"{nullable} />')
    lines += ['<Property Name="pictureContent" Type="Edm.Stream" />', "</EntityType>"]
    types.append("\n".join(lines))
    container = "".join(f'<EntitySet Name="{name}" EntityType="{NAMESPACE}.{es.entity}" />'
                        for name, es in sets.items())
    container += "".join(f'<EntitySet Name="{name}" EntityType="{NAMESPACE}.{attachments.ENTITY[name]}" />'
                         for name in attachments.SETS)
    container += f'<EntitySet Name="pictures" EntityType="{NAMESPACE}.picture" />'
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">\n'
        "<edmx:DataServices>\n"
        f'<Schema Namespace="{NAMESPACE}" xmlns="http://docs.oasis-open.org/odata/ns/edm" '
        'Alias="NAV">\n'
        + "\n".join(enum_xml) + "\n" + "\n".join(types) + "\n" + "\n".join(actions) + "\n"
        + f'<EntityContainer Name="NAV">{container}</EntityContainer>\n'
        "</Schema>\n</edmx:DataServices>\n</edmx:Edmx>\n"
    )


def metadata_response() -> Response:
    """``GET .../api/v2.0/$metadata`` as ``application/xml``."""
    return Response(metadata_xml(), content_type="application/xml; charset=utf-8",
                    headers={"OData-Version": "4.0"})
