"""Codeunits published as web services: unbound actions ``POST /ODataV4/{Service}_{Procedure}``.

BC answers ``{"@odata.context": "{base}/ODataV4/$metadata#Edm.String", "value": ...}``
(docs/bc/2-urls.md §2.3; Microsoft Learn ``devenv-creating-and-interacting-with-odatav4-unbound-action.md``).
The JSON body holds the procedure's named parameters.

The emulator publishes codeunit ``APICodeunits`` of seed 000:

* ``GetNextSalesOrderNo()``: the next number of the sales-order number series, consumed
  (the next ``POST salesOrders`` gets the one after).
* ``GetWhseShipmentList(...)``: the open warehouse shipments with their lines (the data of
  the contoso warehouse custom API), filtered by any header field given in the body, e.g.
  ``{"locationCode": "WHITE"}``; also accepted wrapped as one text parameter
  (``{"filtersJson": "{\\"locationCode\\":\\"WHITE\\"}"}``). ``value`` is JSON *text*, as an
  AL procedure returning Text gives it (``EmulatorConfig.codeunit_result_as_text``; False
  returns the array itself).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from bcbridge.emulator.bc import _custom_warehouse as wh
from bcbridge.emulator.errors import BCError

__all__ = ["CODEUNITS", "Result"]

#: (Edm type of ``value``, value).
Result = tuple[str, object]
Procedure = Callable[[Any, str, dict[str, Any]], Result]


def _next_sales_order_no(bc: Any, company_id: str, body: dict[str, Any]) -> Result:
    return "Edm.String", bc.store.next_number(company_id, "salesOrders")


def _filters(body: dict[str, Any]) -> dict[str, object]:
    if len(body) == 1:
        (only,) = body.values()
        if isinstance(only, str) and only.strip().startswith("{"):
            try:
                inner = orjson.loads(only)
            except orjson.JSONDecodeError:
                raise BCError(400, "Application_DialogException", "Invalid JSON in the filter parameter.") from None
            if isinstance(inner, dict):
                return inner
    return body


def _whse_shipment_list(bc: Any, company_id: str, body: dict[str, Any]) -> Result:
    fields = {name.lower(): name for name in wh.HEADER_TYPES}
    wanted = {fields[k.lower()]: v for k, v in _filters(body).items() if k.lower() in fields and v not in (None, "")}
    result = []
    for header, lines in wh.shipments(bc.store, company_id):
        public = wh.public(header)
        if any(str(public.get(name, "")).lower() != str(value).lower() for name, value in wanted.items()):
            continue
        entry = {k: v for k, v in public.items() if k != "@odata.etag"}
        entry["warehouseShipmentLines"] = [
            {k: v for k, v in wh.public(line).items() if k != "@odata.etag"} for line in lines
        ]
        result.append(entry)
    if getattr(bc.emulator.config, "codeunit_result_as_text", True):
        return "Edm.String", orjson.dumps(result).decode()
    return "Edm.Untyped", result


#: Published unbound actions by URL name.
CODEUNITS: dict[str, Procedure] = {
    "APICodeunits_GetNextSalesOrderNo": _next_sales_order_no,
    "APICodeunits_GetWhseShipmentList": _whse_shipment_list,
}
