"""The environments APIs: which BC environments the token's tenant has.

* ``GET /environments/v1.1`` and ``GET /environments/v1.2`` (DOCS
  ``webservices/api-get-environments.md``, docs/bc/2-urls.md §2.1): ``{"value": [{"aadTenantId",
  "applicationFamily", "type" (production|sandbox), "name", "countryCode", "webServiceUrl",
  "webClientLoginUrl"}]}``; v1.2 adds ``ringName``.
* ``GET /admin/v2.{n}/applications/environments`` and
  ``/admin/v2.{n}/applications/{applicationFamily}/environments[/{name}]`` (DOCS
  ``administration/administration-center-api_environments.md``): ``friendlyName``,
  ``type`` (Production|Sandbox), ``name``, ``countryCode``, ``applicationFamily``,
  ``aadTenantId``, ``applicationVersion``, ``status``, ``webClientLoginUrl``,
  ``webServiceUrl``, ``locationName``, ``geoName``, ``platformVersion``, ``ringName``.

The emulator has one environment (``config.environment``); its type is sandbox when its
name contains "sandbox" (BC's default names), else production. Both need a valid token.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from bcbridge.emulator.errors import BCError, json_response

if TYPE_CHECKING:
    from werkzeug.wrappers import Request, Response

    from bcbridge.emulator.app import Emulator

__all__ = ["handle", "matches"]

_PUBLIC = re.compile(r"^/environments/v1\.(?P<minor>[12])/?$")
_ADMIN = re.compile(r"^/admin/v2\.\d+/applications(?:/(?P<family>[^/]+))?/environments(?:/(?P<name>[^/]+))?/?$")
_FAMILY = "BusinessCentral"
#: The BC version the emulator's metadata describes (``systemVersion`` of its records).
_APPLICATION_VERSION = "27.0.38460.40109"


def matches(path: str) -> bool:
    """True for a path this module serves."""
    return bool(_PUBLIC.match(path) or _ADMIN.match(path))


def handle(emulator: Emulator, request: Request) -> Response:
    """Serve one environments request (401 without a valid token, 405 for writes)."""
    emulator.identity.authenticate(request)
    if request.method != "GET":
        raise BCError(405, "MethodNotAllowed", f"The HTTP method '{request.method}' is not allowed on this resource.")
    path = request.path
    public = _PUBLIC.match(path)
    if public:
        return json_response({"value": [_public(emulator, ring=public["minor"] == "2")]}, odata=False)
    admin = _ADMIN.match(path)
    assert admin is not None
    family, name = admin["family"], admin["name"]
    if family is not None and family.lower() != _FAMILY.lower():
        return json_response({"value": []}, odata=False)
    environment = _admin(emulator)
    if name is not None:
        if name.lower() != emulator.config.environment.lower():
            raise BCError(404, "EnvironmentNotFound", f"Environment '{name}' was not found.")
        return json_response(environment, odata=False)
    return json_response({"value": [environment]}, odata=False)


def _urls(emulator: Emulator) -> tuple[str, str]:
    config = emulator.config
    web_service = f"{config.api_base_url}/v2.0/{config.tenant}/{config.environment}"
    login = f"https://businesscentral.dynamics.com/{config.tenant}/{config.environment}"
    return web_service, login


def _is_sandbox(emulator: Emulator) -> bool:
    return "sandbox" in emulator.config.environment.lower()


def _public(emulator: Emulator, ring: bool) -> dict[str, Any]:
    config = emulator.config
    web_service, login = _urls(emulator)
    body: dict[str, Any] = {
        "aadTenantId": config.tenant,
        "applicationFamily": _FAMILY,
        "type": "sandbox" if _is_sandbox(emulator) else "production",
        "name": config.environment,
        "countryCode": "US",
        "webServiceUrl": web_service,
        "webClientLoginUrl": login,
    }
    if ring:
        body["ringName"] = "PROD"
    return body


def _admin(emulator: Emulator) -> dict[str, Any]:
    config = emulator.config
    web_service, login = _urls(emulator)
    return {
        "friendlyName": config.environment,
        "type": "Sandbox" if _is_sandbox(emulator) else "Production",
        "name": config.environment,
        "countryCode": "US",
        "applicationFamily": _FAMILY,
        "aadTenantId": config.tenant,
        "applicationVersion": _APPLICATION_VERSION,
        "status": "Active",
        "webClientLoginUrl": login,
        "webServiceUrl": web_service,
        "locationName": "West US 2",
        "geoName": "United States",
        "platformVersion": _APPLICATION_VERSION,
        "ringName": "PROD",
    }
