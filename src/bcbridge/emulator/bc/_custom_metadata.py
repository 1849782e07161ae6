"""Service document and ``$metadata`` of the contoso warehouse custom API route.

Shaped like BC's EDMX for an API route (docs/bc/2-urls.md §2.5): namespace ``Microsoft.NAV``,
entity types named after the API pages' ``EntityName``, containment of the lines, the
company entity set and the bound actions ``Microsoft.NAV.registerPick`` / ``post``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from bcbridge.emulator.bc import _custom_warehouse as wh
from bcbridge.emulator.errors import json_response

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

__all__ = ["metadata_response", "metadata_xml", "service_document"]

_EDM = {
    "GUID": "Edm.Guid",
    "string": "Edm.String",
    "date": "Edm.Date",
    "decimal": "Edm.Decimal",
    "integer": "Edm.Int32",
    "datetime": "Edm.DateTimeOffset",
    "boolean": "Edm.Boolean",
}
_SETS = ("companies", "warehouseShipments", "warehouseShipmentLines")


def service_document(bc: Any, request: Request, prefix: str) -> Response:
    """``GET api/contoso/warehouse/v1.0``: the entity sets of the route."""
    from bcbridge.emulator.bc.reads import base_url

    value = [{"name": name, "kind": "EntitySet", "url": name} for name in _SETS]
    return json_response({"@odata.context": f"{base_url(bc, request)}{prefix}/$metadata", "value": value})


def _entity_type(name: str, types: dict[str, str], navigation: str = "") -> str:
    not_null = ' Nullable="false"'
    props = "".join(
        f'<Property Name="{field}" Type="{_EDM[kind]}"{not_null if field == "id" else ""} />'
        for field, kind in types.items()
    )
    return f'<EntityType Name="{name}"><Key><PropertyRef Name="id" /></Key>{props}{navigation}</EntityType>'


@functools.cache
def metadata_xml() -> str:
    """The EDMX document of the route."""
    company = {
        "id": "GUID",
        "systemVersion": "string",
        "name": "string",
        "displayName": "string",
        "businessProfileId": "string",
    }
    lines_nav = (
        '<NavigationProperty Name="warehouseShipmentLines" '
        'Type="Collection(Microsoft.NAV.warehouseShipmentLine)" ContainsTarget="true" />'
    )
    company_nav = "".join(
        f'<NavigationProperty Name="{name}" Type="Collection(Microsoft.NAV.{entity})" ContainsTarget="true" />'
        for name, entity in (
            ("warehouseShipments", "warehouseShipment"),
            ("warehouseShipmentLines", "warehouseShipmentLine"),
        )
    )
    actions = "".join(
        f'<Action Name="{name}" IsBound="true"><Parameter Name="bindingParameter" '
        'Type="Microsoft.NAV.warehouseShipment" /></Action>'
        for name in ("registerPick", "post")
    )
    container = "".join(
        f'<EntitySet Name="{name}" EntityType="Microsoft.NAV.{entity}" />'
        for name, entity in (
            ("companies", "company"),
            ("warehouseShipments", "warehouseShipment"),
            ("warehouseShipmentLines", "warehouseShipmentLine"),
        )
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">'
        '<edmx:DataServices><Schema Namespace="Microsoft.NAV" '
        'xmlns="http://docs.oasis-open.org/odata/ns/edm">'
        + _entity_type("company", company, company_nav)
        + _entity_type("warehouseShipment", wh.HEADER_TYPES, lines_nav)
        + _entity_type("warehouseShipmentLine", wh.LINE_TYPES)
        + actions
        + f'<EntityContainer Name="NAV">{container}</EntityContainer>'
        "</Schema></edmx:DataServices></edmx:Edmx>"
    )


def metadata_response() -> Response:
    """``GET .../$metadata`` as ``application/xml``."""
    response = Response(metadata_xml(), content_type="application/xml; charset=utf-8")
    response.headers["OData-Version"] = "4.0"
    return response
