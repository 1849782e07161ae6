"""OData JSON ``$batch`` of the BC APIs: many inner requests in one HTTP call.

``POST .../api/v2.0/$batch`` (and a custom route's ``$batch``) with
``{"requests": [{"id", "method", "url", "headers", "body", "atomicityGroup", "dependsOn"}]}``
answers ``200`` with ``{"responses": [{"id", "status", "headers", "body"}]}`` in request
order (docs/bc/2-urls.md §2.6; https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/use-odata-batch).

Every inner request is served by the BC handler (routing, authentication with the outer
request's ``Authorization`` header, queries, writes, ETag rules, webhooks) exactly as a
direct call; only the per-user limiter and fault rules apply to the outer request alone,
as BC runs a batch in one session.

Transactions:

* ``Isolation: snapshot`` on the outer request runs the batch as one transaction: if any
  inner request fails, every change of the batch is rolled back at the end; the inner
  responses are still returned as they were produced (docs/bc/2-urls.md §2.6).
* ``atomicityGroup`` (standard OData JSON batch, UNVERIFIED for BC): the requests of one
  group (contiguous, as OData requires) succeed or fail together. When one fails, the
  group's earlier changes are rolled back, and its remaining requests are answered with
  ``424 Failed Dependency`` without running.
* ``dependsOn`` lists earlier request ids or atomicity groups; when one of them failed,
  the request is answered with ``424`` without running. A URL that starts with ``$<id>``
  is resolved to the entity created or returned by request ``<id>``.

Settings (:class:`~bcbridge.emulator.config.EmulatorConfig`): ``batch_max_operations``
(100, operational limits; more -> 400 ``BadRequest``) and ``batch_continue_on_error``
(``True``: later requests still run after a failure, as in DOCS' sample where the failed
request is last; ``False``: they are answered with 424).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
from werkzeug.wrappers import Response

from bcbridge.emulator.bc._batch_inner import InnerRequest, is_binary, parse_batch, run_inner
from bcbridge.emulator.bc._batch_tx import Savepoint, savepoint
from bcbridge.emulator.errors import BCError, json_response

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

__all__ = ["handle_batch"]

# 424 is what OData JSON batch prescribes for a request whose dependency failed
# (OData 4.01 JSON format §19.2); BC's own code for it is not documented, so "Unknown".
_FAILED_DEPENDENCY = 424


def handle_batch(bc: Any, request: Request, route_prefix: str) -> Response:
    """Run a JSON ``$batch`` request and answer with every inner response.

    Args:
        bc: The emulator's ``BusinessCentral``; ``bc.handle`` serves inner requests.
        request: The outer ``POST .../$batch`` request.
        route_prefix: Path of the route root the relative inner URLs hang off, e.g.
            ``/v2.0/{tenant}/{environment}/api/v2.0`` (a trailing ``/`` is allowed).

    Returns:
        ``200`` with ``{"responses": [{"id": str | None, "status": int,
        "headers": {name: value}, "body": object}]}`` (``body`` omitted when empty).

    Raises:
        BCError: 400 ``BadRequest`` for a body that is not a JSON batch, duplicate ids,
            unknown ``dependsOn`` ids, or more than ``batch_max_operations`` requests.
    """
    config = bc.emulator.config
    limit = int(getattr(config, "batch_max_operations", 100))
    continue_on_error = bool(getattr(config, "batch_continue_on_error", True))
    inner = parse_batch(request, limit)
    snapshot = request.headers.get("Isolation", "").strip().lower() == "snapshot"

    run = _BatchRun(bc, request, route_prefix.rstrip("/"))
    batch_savepoint = savepoint(bc) if snapshot else None
    group_savepoint: Savepoint | None = None
    try:
        current_group: str | None = None
        group_failed = False
        any_failed = False
        for index, item in enumerate(inner):
            if item.atomicity_group != current_group:
                current_group = item.atomicity_group
                group_failed = False
                group_savepoint = savepoint(bc) if current_group is not None else None
            if group_failed:
                run.skip(item, f"The atomicity group '{current_group}' failed.")
                continue
            blocker = run.failed_dependency(item)
            if blocker is None and any_failed and not continue_on_error:
                blocker = "An earlier request of the batch failed."
            if blocker is not None:
                run.skip(item, blocker)
                failed = True
            else:
                failed = run.execute(item)
            if failed:
                any_failed = True
                if current_group is not None:
                    group_failed = True
                    run.failed.add(current_group)
                    if group_savepoint is not None:
                        group_savepoint.rollback()
            last_of_group = index + 1 == len(inner) or inner[index + 1].atomicity_group != current_group
            if group_savepoint is not None and last_of_group:
                group_savepoint.release()
        if batch_savepoint is not None and any_failed:
            batch_savepoint.rollback()
    except BaseException:
        # An emulator bug must not leave half a transaction behind or the lock held.
        for open_savepoint in (group_savepoint, batch_savepoint):
            if open_savepoint is not None:
                open_savepoint.rollback()
        raise
    finally:
        for open_savepoint in (group_savepoint, batch_savepoint):
            if open_savepoint is not None:
                open_savepoint.release()
    return json_response({"responses": run.responses})


class _BatchRun:
    """State of one batch: the responses so far, failed ids and the URLs of results."""

    def __init__(self, bc: Any, outer: Request, route_prefix: str) -> None:
        self.bc = bc
        self.outer = outer
        self.route_prefix = route_prefix
        self.responses: list[dict[str, object]] = []
        self.failed: set[str] = set()
        self.locations: dict[str, str] = {}

    def failed_dependency(self, item: InnerRequest) -> str | None:
        for dependency in item.depends_on:
            if dependency in self.failed:
                return f"The request depends on '{dependency}', which failed."
        return None

    def skip(self, item: InnerRequest, reason: str) -> None:
        error = BCError(_FAILED_DEPENDENCY, "Unknown", reason)
        self._record(item, _FAILED_DEPENDENCY, {"content-type": "application/json"}, error.body())

    def execute(self, item: InnerRequest) -> bool:
        """Run ``item``; returns True when it failed (status >= 400)."""
        try:
            response = run_inner(self.bc, self.outer, self.route_prefix, item, self.locations)
        except BCError as error:
            response = error.response()
        status = response.status_code
        headers = {
            name.lower(): value for name, value in response.headers.items() if name.lower() not in ("content-length",)
        }
        body = _body(response)
        if item.id is not None and status < 400:
            location = _result_location(item, headers, body)
            if location:
                self.locations[item.id] = location
        self._record(item, status, headers, body)
        return status >= 400

    def _record(self, item: InnerRequest, status: int, headers: dict[str, str], body: object) -> None:
        # The documented 204 answer is {"id": null, "status": 204, "headers": {}} (docs/bc §2.6).
        entry: dict[str, object] = {"id": item.id, "status": status, "headers": {} if status == 204 else headers}
        if body is not None:
            entry["body"] = body
        self.responses.append(entry)
        if status >= 400 and item.id is not None:
            self.failed.add(item.id)


def _body(response: Response) -> object:
    data = response.get_data()
    if not data:
        return None
    if "json" in (response.content_type or ""):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    if is_binary(response.content_type or "application/octet-stream"):
        # OData JSON Format 4.01 §19: a body of any other media type is base64url-encoded
        return base64.urlsafe_b64encode(data).decode()
    return data.decode("utf-8", errors="replace")


def _result_location(item: InnerRequest, headers: dict[str, str], body: object) -> str | None:
    """Path of the entity an inner request produced, for ``$<id>`` references."""
    for name in ("location", "odata-entityid"):
        if headers.get(name):
            return urlsplit(headers[name]).path
    if isinstance(body, dict):
        if isinstance(body.get("@odata.id"), str):
            return urlsplit(body["@odata.id"]).path
        if item.method == "POST" and "id" in body:
            return f"{item.resolved_path}({body['id']})"
        if "id" in body:
            return item.resolved_path
    return None
