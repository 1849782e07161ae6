"""URL routing of the BC endpoints under ``/v2.0/``.

Shapes (docs/bc/2-urls.md §2.1-§2.3):

* ``/v2.0/{tenant}/{environment}/api/v2.0/...`` and ``/v2.0/{environment}/api/v2.0/...``
  (tenant from the token's ``tid``); the tenant is the GUID or a verified domain.
* ``api/v2.0`` (service document), ``api/v2.0/$metadata``, ``api/v2.0/$batch``,
  ``api/v2.0/companies[({id})]``, ``api/v2.0/companies({id})/{set}[({id})][/{nav}[({id})]]``
  ``[/$count | /Microsoft.NAV.{action}]``, or the same without ``companies({id})/`` and
  ``?company={id or name}``.
* ``api/{publisher}/{group}/{version}/...`` -> :mod:`.custom`, ``ODataV4/...`` ->
  :mod:`.webservices`, ``$batch`` -> :mod:`.batch`, bound actions -> :mod:`.actions`.

Errors: an unknown tenant is 404 ``Internal_TenantUnavailable`` ("The tenant '...' is not
accessible", the BC error table's code for an inaccessible tenant, docs/bc/8-errors.md §8) and an
unknown environment 404 ``BadRequest_ResourceNotFound`` ("Resource not found for the segment
'...'"), the 404 BC gives for anything not in its metadata. Both codes are UNVERIFIED for
these exact cases.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from bcbridge.emulator.bc import attachments, pictures, reads, writes
from bcbridge.emulator.bc.metadata import metadata_response, service_document
from bcbridge.emulator.bc.schema import schema
from bcbridge.emulator.errors import BCError

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

    from bcbridge.emulator.bc import BusinessCentral

__all__ = ["Target", "handle", "resolve_company"]

_SEGMENT = re.compile(r"^([A-Za-z_$][\w.$]*)(?:\((.*)\))?$")


@dataclass
class Target:
    """What an entity URL addresses.

    Attributes:
        company_id: The company. entity_set: The set read or written.
        key: The entity's id for single-entity URLs, else ``None``.
        parent_key: Parent id for a containment URL (``salesOrders(x)/salesOrderLines``).
        context: ``@odata.context`` path after ``$metadata#`` (without ``/$entity``).
        prefix: Route root path, e.g. ``/v2.0/{tenant}/{env}/api/v2.0``.
    """

    company_id: str
    entity_set: str
    key: str | None
    parent_key: str | None
    context: str
    prefix: str


def not_found(segment: str) -> BCError:
    return BCError(404, "BadRequest_ResourceNotFound",
                   f"Resource not found for the segment '{segment}'.")


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(f"bcbridge.emulator.bc.{module}")
    except ModuleNotFoundError as error:
        if error.name != f"bcbridge.emulator.bc.{module}":
            raise
        return None


def _key(raw: str | None) -> str | None:
    if raw is None:
        return None
    key = raw.strip().strip("'").lower()
    if not re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", key):
        raise BCError(400, "BadRequest_NotFound", f"Bad Request - Error in query syntax. "
                      f"The key '{raw}' is not a valid GUID.")
    return key


def handle(bc: BusinessCentral, request: Request) -> Response:
    """Authenticate, check tenant and environment, and route one ``/v2.0/`` request."""
    claims = bc.emulator.identity.authenticate(request)
    config = bc.emulator.config
    segments = request.path[len("/v2.0/"):].split("/")
    if len(segments) >= 2 and segments[1] in ("api", "ODataV4"):
        tenant, environment, rest = None, segments[0], segments[1:]
    elif len(segments) >= 3:
        tenant, environment, rest = segments[0], segments[1], segments[2:]
    else:
        raise not_found(request.path)
    if tenant is not None and not config.knows_tenant(tenant):
        raise BCError(404, "Internal_TenantUnavailable",
                      f"The tenant '{tenant}' is not accessible.")
    token_tenant = str(claims.get("tid", config.tenant)) if isinstance(claims, dict) else None
    if token_tenant and token_tenant.lower() != config.tenant.lower():
        raise BCError(401, "Authentication_InvalidCredentials",
                      "The server has rejected the client credentials.")
    if environment.lower() != config.environment.lower():
        raise not_found(environment)
    root = "/v2.0/" + "/".join(segments[: len(segments) - len(rest)])
    # -- webhook subscriptions (issue 6): api/v2.0/subscriptions, api/{pub}/{grp}/{ver}/subscriptions
    at = 2 if len(rest) >= 2 and rest[1] == "v2.0" else 4
    if rest[0] == "api" and len(rest) > at and rest[at].startswith("subscriptions"):
        from bcbridge.emulator.bc import subscriptions

        if subscriptions.is_subscriptions_segment(rest[at]):
            return subscriptions.handle(bc, request, f"{root}/{'/'.join(rest[:at])}", rest[at:])
    if rest[0] == "ODataV4":
        module = _optional("webservices")
        if module is None:
            raise not_found("ODataV4")
        return module.handle(bc, request, "/".join(rest[1:]))
    if len(rest) >= 2 and rest[1] == "v2.0":
        return _standard(bc, request, f"{root}/api/v2.0", rest[2:])
    if len(rest) >= 4:
        module = _optional("custom")
        if module is None:
            raise not_found(rest[1])
        return module.handle(bc, request, rest[1], rest[2], rest[3], "/".join(rest[4:]))
    raise not_found(rest[-1] or "api")


def resolve_company(bc: BusinessCentral, value: str | None) -> str:
    """The company id named by ``value`` (id, name or display name) or the default company.

    Raises:
        BCError: 400 ``Internal_CompanyNotFound`` when ``value`` names no company, or when it
            is ``None`` and there is no single or configured default (DOCS
            ``webservices/use-odata-to-modify-data.md``).
    """
    companies = bc.companies()
    if value is None:
        value = bc.emulator.config.default_company
        if value is None and len(companies) == 1:
            return str(companies[0]["id"])
    if value is not None:
        wanted = value.strip().strip("'").lower()
        for company in companies:
            if wanted in (company["id"], company["name"].lower(),
                          company["displayName"].lower()):
                return str(company["id"])
    raise BCError(400, "Internal_CompanyNotFound",  # message as in BC's error table (docs/bc §8)
                  "Cannot process the request because the default company cannot be found. "
                  "You can specify a default company in the service configuration file, or "
                  "specify one for each tenant, or you can add a query string in the form of "
                  '"company=[name]". You can see the available companies by accessing the '
                  'default OData web service, Company. For more information, see "OData Web '
                  'Services" in Help')


def _standard(bc: BusinessCentral, request: Request, prefix: str, rest: list[str]) -> Response:
    path = [s for s in rest if s != ""]
    if not path:
        return service_document(bc, request, prefix)
    if path == ["$metadata"]:
        return metadata_response()
    if path == ["$batch"]:
        module = _optional("batch")
        if module is None:
            raise not_found("$batch")
        return module.handle_batch(bc, request, prefix)
    parsed = []
    for segment in path:
        match = _SEGMENT.match(segment)
        if not match:
            raise not_found(segment)
        parsed.append((match[1], match[2]))
    name, raw_key = parsed[0]
    if name == "companies":
        if len(parsed) == 1 and request.method.upper() != "GET":
            raise _method_not_allowed(request.method.upper(), "companies")
        if raw_key is None:
            if parsed[1:] == [("$count", None)]:
                if request.method.upper() != "GET":
                    raise _method_not_allowed(request.method.upper(), "$count")
                # /$count on any collection (OData v4.01 part 2 §4.8; docs/bc/3-odata-queries.md §3): a plain number
                return Response(str(len(bc.companies())), content_type="text/plain; charset=utf-8",
                                headers={"OData-Version": "4.0"})
            if len(parsed) > 1:
                raise not_found(parsed[1][0])
            return reads.get_companies(bc, request, prefix, None)
        company_id = str(_key(raw_key))
        if not any(c["id"] == company_id for c in bc.companies()):
            raise BCError(404, "BadRequest_NotFound",
                          "The specified resource was not found.")
        parsed = parsed[1:]
        if not parsed:
            return reads.get_companies(bc, request, prefix, company_id)
        context = f"companies({company_id})"
    else:
        company_id = resolve_company(bc, request.args.get("company"))
        context = ""
    return _entity_path(bc, request, prefix, company_id, context, parsed)


def _entity_path(bc: BusinessCentral, request: Request, prefix: str, company_id: str,
                 context: str, parsed: list[tuple[str, str | None]]) -> Response:
    sets = schema()
    name, raw_key = parsed[0]
    if name in attachments.SETS:
        return attachments.handle(bc, request, prefix, company_id, context, name, raw_key, parsed[1:])
    if name == "pictures":
        raise pictures.parent_required()
    if name not in sets or name == "companies":
        raise not_found(name)
    entity_set, key, parent_key = name, _key(raw_key), None
    context = f"{context}/{name}" if context else name
    action = None
    count = False
    for index, (segment, raw) in enumerate(parsed[1:], start=1):
        last = index == len(parsed) - 1
        if segment == "$count" and last and key is None and raw is None:
            count = True
        elif segment.startswith("Microsoft.NAV.") and last and key is not None:
            action = segment[len("Microsoft.NAV."):]
        elif key is not None and segment in attachments.SETS and entity_set in attachments.PARENT_SETS.values():
            # salesOrders({id})/attachments, items({id})/documentAttachments (containment)
            if bc.store.ordinal(company_id, entity_set, key) is None:
                raise writes.record_not_found(entity_set)
            return attachments.handle(bc, request, prefix, company_id, f"{context}({key})", segment, raw,
                                      parsed[index + 1:], parent=(entity_set, key))
        elif key is not None and segment == "picture" and entity_set in pictures.PARENTS:
            # items({id})/picture[({id})][/pictureContent] (resources/dynamics_picture)
            if bc.store.ordinal(company_id, entity_set, key) is None:
                raise writes.record_not_found(entity_set)
            return pictures.handle(bc, request, prefix, company_id, f"{context}({key})", entity_set, key, raw,
                                   parsed[index + 1:])
        elif key is not None and segment in sets[entity_set].children:
            if bc.store.ordinal(company_id, entity_set, key) is None:
                raise writes.record_not_found(entity_set)
            context = f"{context}({key})/{segment}"
            entity_set, parent_key, key = sets[entity_set].children[segment], key, _key(raw)
        else:
            raise not_found(segment)
    target = Target(company_id, entity_set, key, parent_key, context, prefix)
    method = request.method.upper()
    if method != "GET" and request.headers.get("Data-Access-Intent", "").lower() == "readonly":
        # DOCS devenv-connect-apps-tips.md: ReadOnly routes to a read replica, so writes
        # fail (docs/bc/3-odata-queries.md §3); the exact code and message are UNVERIFIED.
        raise BCError(400, "BadRequest", f"'{method}' requests are not allowed with the "
                      "'Data-Access-Intent: ReadOnly' header.")
    if action is not None:
        if method != "POST":
            raise _method_not_allowed(method, entity_set)
        module = _optional("actions")
        if module is None:
            raise not_found(f"Microsoft.NAV.{action}")
        return module.invoke(bc, request, company_id, entity_set, key, action)
    if method == "GET":
        return reads.get(bc, request, target, count_only=count)
    if count:
        raise _method_not_allowed(method, "$count")
    if method == "PUT":
        status = bc.emulator.config.put_status
        if status:
            raise BCError(status, "BadRequest_MethodNotAllowed",
                          f"'PUT' requests for '{entity_set}' of EdmType 'Entity' are not "
                          "allowed within Microsoft Dynamics NAV OData web services.")
        method = "PATCH"
    if method == "POST" and key is None:
        return writes.post(bc, request, target)
    if method == "PATCH" and key is not None:
        return writes.patch(bc, request, target)
    if method == "DELETE" and key is not None:
        return writes.delete(bc, request, target)
    raise _method_not_allowed(method, entity_set)


def _method_not_allowed(method: str, what: str) -> BCError:
    # BC's error table quotes "'POST' requests for 'companies' of EdmType 'Entity'" (docs/bc/8-errors.md
    # §8, DOCS dynamics-error-codes.md); the EdmType BC names for other sets is UNVERIFIED
    kind = "Entity" if method in ("PATCH", "DELETE") or what == "companies" else "EntitySet"
    return BCError(405, "BadRequest_MethodNotAllowed",
                   f"'{method}' requests for '{what}' of EdmType '{kind}' are not allowed "
                   "within Microsoft Dynamics NAV OData web services.")
