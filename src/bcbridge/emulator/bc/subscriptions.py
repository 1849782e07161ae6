"""Webhook subscriptions: ``api/v2.0/subscriptions`` and ``api/{pub}/{grp}/{ver}/subscriptions``.

BC's behaviour (docs/bc/6-webhooks.md §6.1-§6.3, https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/api-reference/v2.0/dynamics-subscriptions
and ``api/dynamics_subscriptions_{create,get,update,delete}.md``):

* ``POST subscriptions {"notificationUrl", "resource", "clientState"?}`` calls
  ``notificationUrl?validationToken=<token>`` (``config.handshake_method``, POST by
  default); only a 200 echoing the token within ``config.handshake_timeout`` (5 s) creates
  the subscription: 201 with the entity. Otherwise 400 ``BadRequest`` and nothing is created
  (the exact BC code is UNVERIFIED).
* ``GET subscriptions`` lists the calling user's live subscriptions (scope UNVERIFIED);
  ``GET subscriptions('{id}')`` one of them.
* ``PATCH subscriptions('{id}')`` with ``If-Match`` renews: the body may change
  ``notificationUrl``/``resource``/``clientState``, the handshake runs again, and
  ``expirationDateTime`` becomes now + ``config.subscription_lifetime`` (3 days).
* ``DELETE subscriptions('{id}')`` with ``If-Match`` -> 204.
* ``If-Match`` missing -> 400 ``BadRequest_InvalidToken``; stale -> ``Request_EntityChanged``
  (``config.etag_mismatch_status``), as for entities (docs/bc/4-concurrency.md §4).
* At most ``config.max_subscriptions`` (200) per environment; only the entity sets of §6.3
  (:data:`WEBHOOK_ENTITY_SETS`) and, on a custom API, its top-level sets
  (:data:`CUSTOM_WEBHOOK_SETS`). ``resource`` may be absolute or relative:
  ``/api/v2.0/companies({id})/customers``, ``companies({id})/customers``, or a full URL.

Notifications are collected and delivered by :mod:`bcbridge.emulator.webhooks`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from werkzeug.wrappers import Response

from bcbridge.emulator.bc.etag import matches
from bcbridge.emulator.errors import BCError, json_response
from bcbridge.emulator.webhooks import Subscription, notifier

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

__all__ = ["CUSTOM_WEBHOOK_SETS", "WEBHOOK_ENTITY_SETS", "handle", "is_subscriptions_segment"]

#: API v2.0 entity sets BC notifies about (docs/bc/6-webhooks.md §6.3).
WEBHOOK_ENTITY_SETS = frozenset({
    "accounts", "companyInformation", "countriesRegions", "currencies", "customerPaymentJournals",
    "customers", "dimensions", "employees", "generalLedgerEntries", "itemCategories", "items",
    "journals", "paymentMethods", "paymentTerms", "purchaseInvoices", "salesCreditMemos",
    "salesInvoices", "salesOrders", "salesQuotes", "shipmentMethods", "unitsOfMeasure", "vendors",
})

#: Custom API sets that can be subscribed to: the top-level sets of the emulator's custom
#: API (a custom API page over a normal table with a single key qualifies, docs/bc/6-webhooks.md §6.3).
CUSTOM_WEBHOOK_SETS = frozenset({"warehouseShipments"})

_SEGMENT = re.compile(r"^subscriptions(?:\((?P<key>[^)]*)\))?$")
_RESOURCE = re.compile(
    r"(?:^|/)(?:api/(?P<api>v2\.0|[^/]+/[^/]+/[^/]+)/)?companies\((?P<company>[^)]+)\)"
    r"/(?P<set>[A-Za-z_]\w*)/?$"
)


def is_subscriptions_segment(segment: str) -> bool:
    """True for ``subscriptions`` and ``subscriptions('{id}')``."""
    return bool(_SEGMENT.match(segment))


def handle(bc: Any, request: Request, route_prefix: str, rest: list[str]) -> Response:
    """Answer one request under ``{route_prefix}/subscriptions``.

    Args:
        bc: The :class:`~bcbridge.emulator.bc.BusinessCentral`.
        request: The request (already authenticated by the router).
        route_prefix: ``/v2.0/{tenant}/{env}/api/v2.0`` or ``.../api/{pub}/{grp}/{ver}``.
        rest: Path segments from ``subscriptions...`` on.

    Raises:
        BCError: 404 for an unknown id or path, 405 for a wrong method, 400/409 as above.
    """
    segments = [s for s in rest if s]
    match = _SEGMENT.match(segments[0]) if segments else None
    if match is None or len(segments) > 1:
        raise BCError(404, "BadRequest_ResourceNotFound",
                      f"Resource not found for the segment '{segments[-1] if segments else ''}'.")
    api = route_prefix.split("/api/", 1)[1]
    if api != "v2.0":
        from bcbridge.emulator.bc.custom import ROUTES

        if tuple(api.split("/")) not in ROUTES:
            raise BCError(404, "BadRequest_ResourceNotFound",
                          f"Resource not found for the segment '{api.split('/')[0]}'.")
    raw_key = match["key"]
    method = request.method.upper()
    user = str(bc.emulator.identity.authenticate(request).get("oid") or "")
    hub = notifier(bc.emulator)
    base = f"{_base_url(bc, request)}{route_prefix}"
    if raw_key is None:
        if method == "GET":
            value = [s.to_json() for s in hub.live() if s.user_id == user and s.api == api]
            return json_response({"@odata.context": f"{base}/$metadata#subscriptions", "value": value})
        if method == "POST":
            sub = _create(bc, hub, request, api, user)
            return _entity(base, sub, 201)
        raise _method_not_allowed(method, "EntitySet")
    sub = _find(hub, raw_key, user)
    if method == "GET":
        return _entity(base, sub)
    if method not in ("PATCH", "DELETE"):
        raise _method_not_allowed(method, "Entity")
    _check_if_match(bc, request, sub)
    if method == "DELETE":
        hub.remove(sub.subscription_id)
        return Response(status=204, headers={"OData-Version": "4.0"})
    return _entity(base, _renew(bc, hub, request, sub))


def _base_url(bc: Any, request: Request) -> str:
    from bcbridge.emulator.bc.reads import base_url

    return str(base_url(bc, request))


def _entity(base: str, sub: Subscription, status: int = 200) -> Response:
    body = {"@odata.context": f"{base}/$metadata#subscriptions/$entity", **sub.to_json()}
    headers = {"ETag": sub.etag}
    if status == 201:
        headers["Location"] = f"{base}/subscriptions('{sub.subscription_id}')"
    return json_response(body, status=status, headers=headers)


def _find(hub: Any, raw_key: str, user: str) -> Subscription:
    key = raw_key.strip().strip("'")
    for sub in hub.live():
        if sub.subscription_id == key and sub.user_id == user:
            return sub  # type: ignore[no-any-return]
    raise BCError(404, "BadRequest_NotFound", "The specified resource was not found.")


def _check_if_match(bc: Any, request: Request, sub: Subscription) -> None:
    if_match = request.headers.get("If-Match")
    if not if_match:
        raise BCError(400, "BadRequest_InvalidToken",
                      "Could not validate the client concurrency token required by the service. "
                      "Please provide a valid token in the client request.")
    if not matches(if_match, sub.etag):
        raise BCError(bc.emulator.config.etag_mismatch_status, "Request_EntityChanged",
                      "Another user has already changed the record.")


def _body(request: Request) -> dict[str, Any]:
    import orjson

    try:
        body = orjson.loads(request.get_data() or b"{}")
    except orjson.JSONDecodeError:
        raise BCError(400, "BadRequest", "Invalid Request Body") from None
    if not isinstance(body, dict):
        raise BCError(400, "BadRequest", "Invalid Request Body")
    return body


def _string(body: dict[str, Any], name: str, default: str | None = None) -> str:
    value = body.get(name, default)
    if not isinstance(value, str) or (name != "clientState" and not value.strip()):
        raise BCError(400, "BadRequest_RequiredParamNotProvided",
                      f"Field '{name}' must not be blank or empty.")
    return value


def _target(bc: Any, api: str, resource: str) -> tuple[str, str]:
    """(company id, entity set) of a subscription's ``resource``; 400 when not subscribable."""
    path = urlsplit(resource).path if "://" in resource else resource.split("?", 1)[0]
    match = _RESOURCE.search(path)
    if match is None:
        raise BCError(400, "BadRequest", f"The resource '{resource}' is not a valid subscription "
                      "resource; use companies({id})/{entitySet}.")
    if match["api"] and match["api"] != api:
        raise BCError(400, "BadRequest", f"The resource '{resource}' does not belong to the API "
                      f"'{api}' of this subscriptions endpoint.")
    company_id = match["company"].strip().strip("'").lower()
    if not any(c["id"] == company_id for c in bc.companies()):
        raise BCError(404, "BadRequest_NotFound", "The specified resource was not found.")
    entity_set = match["set"]
    allowed = WEBHOOK_ENTITY_SETS if api == "v2.0" else CUSTOM_WEBHOOK_SETS
    if entity_set not in allowed:
        raise BCError(400, "BadRequest", f"The entity set '{entity_set}' does not support "
                      "webhook subscriptions.")
    return company_id, entity_set


def _handshake(hub: Any, url: str) -> None:
    problem = hub.handshake(url)
    if problem is not None:
        raise BCError(400, "BadRequest", f"The subscription could not be validated: the "
                      f"notification URL '{url}' did not complete the validation handshake "
                      f"({problem}).")


def _create(bc: Any, hub: Any, request: Request, api: str, user: str) -> Subscription:
    body = _body(request)
    url, resource = _string(body, "notificationUrl"), _string(body, "resource")
    client_state = _string(body, "clientState", "")
    company_id, entity_set = _target(bc, api, resource)
    config = bc.emulator.config
    if len(hub.live()) >= config.max_subscriptions:
        raise BCError(400, "BadRequest", f"The maximum number of subscriptions "
                      f"({config.max_subscriptions}) for this environment has been reached.")
    _handshake(hub, url)
    now = bc.emulator.clock.now()
    sub = Subscription(
        subscription_id=hub.new_id(), notification_url=url, resource=resource,
        client_state=client_state, user_id=user, api=api, company_id=company_id,
        entity_set=entity_set, created_at=now, modified_at=now,
        expires_at=now + timedelta(seconds=config.subscription_lifetime),
    )
    hub.add(sub)
    return sub


def _renew(bc: Any, hub: Any, request: Request, sub: Subscription) -> Subscription:
    body = _body(request)
    url = _string(body, "notificationUrl", sub.notification_url)
    resource = _string(body, "resource", sub.resource)
    client_state = _string(body, "clientState", sub.client_state)
    company_id, entity_set = _target(bc, sub.api, resource)
    _handshake(hub, url)
    now = bc.emulator.clock.now()
    sub.notification_url, sub.resource, sub.client_state = url, resource, client_state
    sub.company_id, sub.entity_set = company_id, entity_set
    sub.modified_at = now
    sub.expires_at = now + timedelta(seconds=bc.emulator.config.subscription_lifetime)
    sub.version += 1
    return sub


def _method_not_allowed(method: str, kind: str) -> BCError:
    return BCError(405, "BadRequest_MethodNotAllowed",
                   f"'{method}' requests for 'subscriptions' of EdmType '{kind}' are not allowed "
                   "within Microsoft Dynamics NAV OData web services.")
