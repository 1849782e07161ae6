"""Parsing a JSON ``$batch`` body and running one inner request through the emulator."""

from __future__ import annotations

import base64
import binascii
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlsplit

import orjson
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from bcbridge.emulator.errors import BCError

if TYPE_CHECKING:
    from werkzeug.wrappers import Response

__all__ = ["InnerRequest", "is_binary", "parse_batch", "request_body", "run_inner"]

logger = logging.getLogger("bcbridge.emulator")

_METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})
# Outer headers that carry over to every inner request unless the inner one sets them:
# the token (BC runs the whole batch as the caller) and the caller's language.
_INHERITED = ("Authorization", "Accept-Language", "Data-Access-Intent")
_REFERENCE = re.compile(r"^\$(?P<id>[^/?]+)(?P<rest>.*)$")
# Segments at a route root that are not company-scoped (no Company header rewrite).
_UNSCOPED = re.compile(r"^(companies|subscriptions|\$metadata|entityDefinitions)\b", re.I)


def _bad(message: str) -> BCError:
    return BCError(400, "BadRequest", message)


@dataclass
class InnerRequest:
    """One operation of a JSON batch, as sent (docs/bc/2-urls.md §2.6)."""

    id: str | None
    method: str
    url: str
    headers: dict[str, str]
    body: object
    atomicity_group: str | None
    depends_on: list[str] = field(default_factory=list)
    #: Path the URL resolved to when it ran (used for ``$<id>`` references).
    resolved_path: str = ""


def parse_batch(request: Request, limit: int) -> list[InnerRequest]:
    """Validate and parse the outer body.

    Raises:
        BCError: 400 ``BadRequest`` when the body is not a JSON batch, has more than
            ``limit`` requests, repeats an id, or ``dependsOn`` names no earlier request
            or group. The message for too many operations is ODataLib's, which BC uses.
    """
    content_type = (request.mimetype or "").lower()
    if content_type.startswith("multipart/"):
        # BC documents only JSON batches (DOCS webservices/use-odata-batch.md).
        raise _bad("The emulator supports JSON batch requests only (Content-Type: application/json).")
    try:
        payload = orjson.loads(request.get_data() or b"null")
    except orjson.JSONDecodeError as error:
        raise _bad(f"Invalid Request Body: {error}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("requests"), list):
        raise _bad("Invalid Request Body: a JSON batch needs a 'requests' array.")
    raw_requests = payload["requests"]
    if len(raw_requests) > limit:
        raise _bad(
            "The current batch message contains too many parts. Only batch messages with a "
            f"maximum number of '{limit}' query operations and change sets are allowed."
        )
    seen: set[str] = set()
    groups: list[str] = []
    parsed: list[InnerRequest] = []
    for raw in raw_requests:
        item = _parse_one(raw)
        if item.id is not None:
            if item.id in seen:
                raise _bad(f"The request id '{item.id}' is used more than once in the batch.")
            seen.add(item.id)
        for dependency in item.depends_on:
            if dependency not in seen and dependency not in groups:
                raise _bad(f"The dependsOn value '{dependency}' does not name an earlier request or atomicity group.")
        group = item.atomicity_group
        if group is not None and (not groups or groups[-1] != group):
            if group in groups:
                raise _bad(f"The requests of atomicity group '{group}' must be adjacent.")
            groups.append(group)
        parsed.append(item)
    return parsed


def _parse_one(raw: object) -> InnerRequest:
    if not isinstance(raw, dict):
        raise _bad("Invalid Request Body: every batch request must be a JSON object.")
    method = str(raw.get("method", "")).upper()
    if method not in _METHODS:
        raise _bad(f"Invalid Request Body: unsupported method '{raw.get('method')}'.")
    url = raw.get("url")
    if not isinstance(url, str) or not url:
        raise _bad("Invalid Request Body: every batch request needs a 'url'.")
    headers = raw.get("headers") or {}
    if not isinstance(headers, dict):
        raise _bad("Invalid Request Body: 'headers' must be an object.")
    depends_on = raw.get("dependsOn") or []
    if not isinstance(depends_on, list):
        raise _bad("Invalid Request Body: 'dependsOn' must be an array.")
    request_id = raw.get("id")
    group = raw.get("atomicityGroup")
    return InnerRequest(
        id=None if request_id is None else str(request_id),
        method=method,
        url=url,
        headers={str(k): str(v) for k, v in headers.items()},
        body=raw.get("body"),
        atomicity_group=None if group is None else str(group),
        depends_on=[str(d) for d in depends_on],
    )


def resolve_url(item: InnerRequest, route_prefix: str, locations: dict[str, str]) -> tuple[str, str]:
    """Turn an inner URL into (absolute path, query string).

    Accepts a full URL, an absolute path, a path relative to the route root
    (``companies(...)/items``) or a ``$<id>`` reference to an earlier result.
    """
    url = item.url
    reference = _REFERENCE.match(url)
    if reference:
        target = locations.get(reference["id"])
        if target is None:
            raise BCError(
                400,
                "BadRequest_InvalidRequestUrl",
                f"The reference '${reference['id']}' does not name an earlier result.",
            )
        url = target + reference["rest"]
    parts = urlsplit(url)
    path = parts.path
    if not path.startswith("/"):
        path = f"{route_prefix}/{path}"
    return path, parts.query


def run_inner(bc: Any, outer: Request, route_prefix: str, item: InnerRequest, locations: dict[str, str]) -> Response:
    """Build a WSGI environ for ``item`` and serve it with the BC handler.

    The inner request goes through BC's whole routing, authentication, query and write
    code (``bc.handle``) but not through the per-user limiter: BC runs a batch in the
    outer request's session, so its operations take no processing slots of their own
    (and a batch cannot deadlock waiting for a slot it holds itself).
    """
    path, query = resolve_url(item, route_prefix, locations)
    if not path.startswith("/v2.0/"):
        raise BCError(
            400,
            "BadRequest_InvalidRequestUrl",
            f"The request URI '{item.url}' is not valid for a batch request.",
        )
    if path.rstrip("/").endswith("/$batch"):
        raise BCError(400, "BadRequest", "A batch request cannot contain another batch request.")
    headers = dict(item.headers)
    lowered = {name.lower() for name in headers}
    for name in _INHERITED:
        value = outer.headers.get(name)
        if value is not None and name.lower() not in lowered:
            headers[name] = value
    company = next((v for k, v in headers.items() if k.lower() == "company"), None)
    outer_company = outer.args.get("company")
    if (
        company is None
        and outer_company
        and bc.emulator.config.batch_outer_company
        and not item.url.startswith(("/", "http://", "https://"))
        and not any(k.lower() == "company" for k, _ in parse_qsl(query))
    ):
        # POST $batch?company=... with relative inner URLs: the outer company applies to
        # them (UNVERIFIED: the documents only show an inner Company header)
        query = f"{query}&company={quote(outer_company)}" if query else f"company={quote(outer_company)}"
    if company is not None and route_prefix.endswith("/ODataV4"):
        # Web services name the company in the query (docs/bc/2-urls.md §2.3).
        if not any(k.lower() == "company" for k, _ in parse_qsl(query)):
            query = f"{query}&company={quote(company)}" if query else f"company={quote(company)}"
    elif company is not None:
        path = _with_company(bc, route_prefix, path, company)
    data: bytes | None = None
    if item.body is not None:
        if "content-type" not in lowered:
            headers["Content-Type"] = "application/json"
        content_type = next(v for k, v in headers.items() if k.lower() == "content-type")
        data = request_body(item.body, content_type)
    item.resolved_path = path
    builder = EnvironBuilder(
        path=quote(path, safe="/()'=,$@:;!*+&~%"),
        query_string=query or None,
        method=item.method,
        headers=list(headers.items()),
        data=data,
        base_url=outer.host_url,
        environ_overrides={"REMOTE_ADDR": outer.remote_addr or "127.0.0.1"},
    )
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    try:
        response: Response = bc.handle(Request(environ))
    except BCError as error:
        return error.response()
    except Exception:  # an emulator bug answers like a server would, as Emulator.dispatch does
        logger.exception("emulator failed on batch operation %s %s", item.method, path)
        return BCError(500, "Internal_ServerError", "The emulator failed to process the request.").response()
    return response


def is_binary(content_type: str) -> bool:
    """Whether a JSON batch carries a body of ``content_type`` as a base64url string.

    OData JSON Format 4.01 §19.1: JSON media types (``application/json`` and its subtypes)
    are inlined as JSON, ``text/*`` as a string, every other media type base64url-encoded.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    return not (media.startswith("text/") or media == "application/json" or media.endswith("+json"))


def request_body(body: object, content_type: str) -> bytes:
    """The bytes of an inner request's ``body`` sent with ``content_type`` (see :func:`is_binary`).

    Raises:
        BCError: 400 ``BadRequest`` when a binary body is not a base64url string.
    """
    if not is_binary(content_type):
        return body.encode() if isinstance(body, str) else orjson.dumps(body)
    if isinstance(body, str):
        text = body.strip()
        try:
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            pass
    raise _bad(
        f"Invalid Request Body: the body of a batch request with Content-Type '{content_type}' must be "
        "a base64url-encoded string (OData JSON Format 4.01, batch requests)."
    )


def _with_company(bc: Any, route_prefix: str, path: str, company: str) -> str:
    """Insert ``companies({id})/`` for a company-less URL and a ``Company`` header.

https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/use-odata-batch
    sends ``"Company": "CRONUS International Ltd."``
    with URLs such as ``items(...)``; the header names the company by name (or id).
    """
    prefix = route_prefix + "/"
    if not path.startswith(prefix):
        return path
    rest = path[len(prefix) :]
    if _UNSCOPED.match(rest):
        return path
    wanted = company.strip().lower()
    for record in bc.companies():
        names = {str(record.get(key, "")).lower() for key in ("id", "name", "displayName")}
        if wanted in names:
            return f"{prefix}companies({record['id']})/{rest}"
    raise BCError(
        400,
        "Internal_CompanyNotFound",
        f"Cannot process the request because the company '{company}' cannot be found.",
    )
