"""``$metadata`` and the service document of the ODataV4 endpoint.

One ``NAV`` schema with an entity type per published page or query (keys = page keys,
options as ``Edm.String``), the ``Company`` entity set, and one unbound action per
published codeunit procedure (DOCS
``devenv-creating-and-interacting-with-odatav4-unbound-action.md``).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from bcbridge.emulator.bc._ws_codeunits import CODEUNITS
from bcbridge.emulator.bc._ws_pages import PAGES
from bcbridge.emulator.errors import json_response

if TYPE_CHECKING:
    pass

__all__ = ["COMPANY_TYPES", "company_rows", "metadata_response", "metadata_xml", "service_document"]

_EDM = {
    "string": "Edm.String",
    "decimal": "Edm.Decimal",
    "boolean": "Edm.Boolean",
    "date": "Edm.Date",
    "integer": "Edm.Int32",
    "GUID": "Edm.Guid",
}
#: Fields of the ``Company`` entity set of ODataV4 (table Company).
COMPANY_TYPES = {
    "Name": "string",
    "Evaluation_Company": "boolean",
    "Display_Name": "string",
    "Id": "GUID",
    "Business_Profile_Id": "string",
}


def service_document(base: str) -> Response:
    """``GET .../ODataV4/``: ``Company`` and every published page and query."""
    value = [{"name": name, "kind": "EntitySet", "url": name} for name in ("Company", *PAGES)]
    return json_response({"@odata.context": f"{base}/$metadata", "value": value})


def _type(name: str, keys: tuple[str, ...], types: dict[str, str], extra: str = "") -> str:
    key = "".join(f'<PropertyRef Name="{k}" />' for k in keys)
    not_null = ' Nullable="false"'
    props = "".join(
        f'<Property Name="{field}" Type="{_EDM[kind]}"{not_null if field in keys else ""} />'
        for field, kind in types.items()
    )
    return f'<EntityType Name="{name}"><Key>{key}</Key>{props}{extra}</EntityType>'


@functools.cache
def metadata_xml() -> str:
    """The EDMX document (the set of published services is fixed)."""
    navigation = "".join(
        f'<NavigationProperty Name="{name}" Type="Collection(NAV.{name})" ContainsTarget="true" />' for name in PAGES
    )
    types = [_type("Company", ("Name",), COMPANY_TYPES, navigation)]
    types += [_type(page.name, page.keys, page.types) for page in PAGES.values()]
    actions = "".join(f'<Action Name="{name}"><ReturnType Type="Edm.String" /></Action>' for name in CODEUNITS)
    container = (
        '<EntitySet Name="Company" EntityType="NAV.Company" />'
        + "".join(f'<EntitySet Name="{name}" EntityType="NAV.{name}" />' for name in PAGES)
        + "".join(f'<ActionImport Name="{name}" Action="NAV.{name}" />' for name in CODEUNITS)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">'
        '<edmx:DataServices><Schema Namespace="NAV" xmlns="http://docs.oasis-open.org/odata/ns/edm">'
        + "".join(types)
        + actions
        + f'<EntityContainer Name="NAV">{container}</EntityContainer>'
        "</Schema></edmx:DataServices></edmx:Edmx>"
    )


def metadata_response() -> Response:
    response = Response(metadata_xml(), content_type="application/xml; charset=utf-8")
    response.headers["OData-Version"] = "4.0"
    return response


def company_rows(bc: Any) -> list[dict[str, Any]]:
    """The ``Company`` entity set: one row per company (BC's Company table fields)."""
    return [
        {
            "Name": c["name"],
            "Evaluation_Company": False,
            "Display_Name": c["displayName"],
            "Id": c["id"],
            "Business_Profile_Id": c.get("businessProfileId", ""),
        }
        for c in bc.companies()
    ]
