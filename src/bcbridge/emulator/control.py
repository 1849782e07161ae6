"""The emulator's control API (``/_emulator/...``, JSON) and its Python twin, :class:`Control`.

The control API needs no token: it is for tests and demos on the local machine and must
**never be exposed** beyond loopback (it can rewrite data, revoke tokens and inject
faults). Endpoints:

=========================================================  ==================================
``GET  /_emulator``                                         tenant, environment, client, URLs
``POST /_emulator/reset {"seed": N}``                        rebuild BC data; clear identity,
                                                            clock, log, counters and faults
``GET  /_emulator/clock``                                   ``{"now", "offset_seconds"}``
``POST /_emulator/clock {"advance": seconds}``               move the clock
``POST /_emulator/identity/revoke {"user": oid|upn}``       revoke refresh tokens (all users
                                                            when ``user`` is absent)
``POST /_emulator/companies/{companyId}/{entitySet}``        create a record as a BC user would
``PATCH /_emulator/companies/{companyId}/{entitySet}/{key}``  change one (bumps ETag and
                                                            ``lastModifiedDateTime``)
``DELETE /_emulator/companies/{companyId}/{entitySet}/{key}`` delete one
``GET|PUT /_emulator/limits``                                read / change :class:`Limits`
``GET|PUT|POST|DELETE /_emulator/faults``                    read / replace / append / clear
``GET|DELETE /_emulator/requests?limit=N``                   request log (oldest first)
``GET  /_emulator/counters``                                 counters per status/kind/fault
``GET  /_emulator/webhooks``                                 subscriptions, pending
                                                            notifications, delivery log
``POST /_emulator/webhooks/flush``                           send every collected
                                                            notification now
``POST /_emulator/webhooks/deliver``                         send what is due on the clock
=========================================================  ==================================
"""

from __future__ import annotations

import dataclasses
import ipaddress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from bcbridge.emulator._guard import Guard
from bcbridge.emulator.errors import BCError, json_response
from bcbridge.emulator.faults import FaultRule, Faults
from bcbridge.emulator.limits import Limiter, Limits
from bcbridge.emulator.requestlog import RequestLog
from bcbridge.emulator.webhooks import notifier

if TYPE_CHECKING:
    from collections.abc import Callable

    from werkzeug.wrappers import Request

    from bcbridge.emulator.app import Emulator

__all__ = ["Control"]

_ROUTES = Map(
    [
        Rule("/_emulator", endpoint="info", methods=["GET"]),
        Rule("/_emulator/reset", endpoint="reset", methods=["POST"]),
        Rule("/_emulator/clock", endpoint="clock", methods=["GET", "POST"]),
        Rule("/_emulator/identity/revoke", endpoint="revoke", methods=["POST"]),
        Rule("/_emulator/companies/<company_id>/<entity_set>", endpoint="create", methods=["POST"]),
        Rule(
            "/_emulator/companies/<company_id>/<entity_set>/<path:key>",
            endpoint="record",
            methods=["PATCH", "DELETE"],
        ),
        Rule("/_emulator/limits", endpoint="limits", methods=["GET", "PUT"]),
        Rule("/_emulator/faults", endpoint="faults", methods=["GET", "PUT", "POST", "DELETE"]),
        Rule("/_emulator/requests", endpoint="requests", methods=["GET", "DELETE"]),
        Rule("/_emulator/counters", endpoint="counters", methods=["GET"]),
        Rule("/_emulator/webhooks", endpoint="webhooks", methods=["GET"]),
        Rule("/_emulator/webhooks/flush", endpoint="webhooks_flush", methods=["POST"]),
        Rule("/_emulator/webhooks/deliver", endpoint="webhooks_deliver", methods=["POST"]),
    ],
    strict_slashes=False,
)


class _BadRequest(Exception):
    pass


def _loopback(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))


def _plain(body: object, status: int = 200) -> Response:
    return json_response(body, status=status, odata=False)


def _error(status: int, message: str) -> Response:
    return _plain(
        {"error": {"code": "BadRequest" if status == 400 else str(status), "message": message}},
        status,
    )


class Control:
    """Test-time control of one emulator, over HTTP (:meth:`handle`) or from Python.

    Attributes:
        log: The request log and counters.
        faults: Injected fault rules (:class:`~bcbridge.emulator.faults.Faults`).
        limiter: Per-user operational limits (:class:`~bcbridge.emulator.limits.Limiter`).
    """

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.log = RequestLog()
        self.faults = Faults(seed=emulator.config.seed)
        self.limiter = Limiter(
            dataclasses.replace(emulator.config.limits), emulator.clock.timestamp
        )
        self._guard = Guard(self.limiter, self.faults, self.log, lambda: _iso(emulator.clock.now()))

    # -- around requests -------------------------------------------------------------------
    def guard(self, request: Request, handler: Callable[[Request], Response]) -> Response:
        """Serve a BC request under the per-user limits and faults, and log it.

        The user is the ``oid`` of a valid access token; requests without one are served
        (the handler answers 401) but not counted per user.
        """
        user: str | None = None
        if "Authorization" in request.headers:
            try:
                user = str(self.emulator.identity.authenticate(request).get("oid") or "") or None
            except BCError:
                user = None
        return self._guard.run(request, "bc", handler, user, limited=True)

    def observe(
        self, request: Request, kind: str, handler: Callable[[Request], Response]
    ) -> Response:
        """Serve a non-BC request (identity) with faults of its ``target`` and log it."""
        return self._guard.run(request, kind, handler, None, limited=False)

    # -- Python twin of the HTTP API -------------------------------------------------------
    def reset(self, seed: int | None = None) -> None:
        """Fresh state: clock, BC data (``seed``), identity grants, log, faults, limits."""
        emulator = self.emulator
        emulator.clock.reset()
        emulator.bc.reset(seed)
        emulator.identity.reset()
        self.log.clear()
        self.faults.clear(seed=emulator.config.seed if seed is None else seed)
        self.limiter.reset(dataclasses.replace(emulator.config.limits))
        hub = getattr(emulator, "webhooks", None)  # created on first use (webhooks.notifier)
        if hub is not None:
            hub.reset()

    def clock(self) -> dict[str, Any]:
        """``{"now": ISO 8601, "offset_seconds": float}``."""
        now = self.emulator.clock.now()
        # the Clock keeps its offset private; real time is read only to report it
        offset = (now - datetime.now(UTC)).total_seconds()
        return {"now": _iso(now), "offset_seconds": round(offset, 3)}

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        self.emulator.clock.advance(seconds)
        return self.clock()

    def revoke(self, user: str | None = None) -> int:
        """Revoke refresh tokens of ``user`` (oid or UPN) or all; returns how many."""
        return self.emulator.identity.revoke_refresh_tokens(user)

    def create(self, company_id: str, entity_set: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.emulator.bc.create(company_id, entity_set, body)

    def change(
        self, company_id: str, entity_set: str, key: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        return self.emulator.bc.change(company_id, entity_set, key, changes)

    def delete(self, company_id: str, entity_set: str, key: str) -> None:
        self.emulator.bc.delete(company_id, entity_set, key)

    def webhooks(self) -> dict[str, Any]:
        """Live subscriptions, collected/undelivered notifications and the delivery log."""
        hub = notifier(self.emulator)
        return {"subscriptions": [s.to_json() for s in hub.live()], **hub.pending(),
                "deliveries": list(hub.log)}

    def deliver_notifications(self) -> int:
        """Send the notifications and retries due on the emulator clock; returns POSTs made."""
        return notifier(self.emulator).deliver_due()

    def flush_notifications(self) -> int:
        """Send every collected notification now, whatever its window; returns POSTs made."""
        return notifier(self.emulator).flush()

    @property
    def limits(self) -> Limits:
        return self.limiter.limits

    def set_limits(self, **changes: Any) -> Limits:
        """Change some limits now (``ValueError`` on an unknown name or a bad value)."""
        self.limiter.limits = self.limiter.limits.updated(changes)
        return self.limiter.limits

    def requests(self, limit: int | None = None) -> list[dict[str, Any]]:
        return self.log.entries(limit)

    def counters(self) -> dict[str, Any]:
        """The log's counters plus ``users``: per user the limiter's counts (``peak_active``
        requests in flight at once, ``rejected`` 429s; :meth:`Limiter.snapshot`)."""
        return {**self.log.counters(), "users": self.limiter.snapshot()}

    # -- HTTP ----------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        """Serve ``/_emulator/...``; a bad body or argument gives 400 with a JSON error.

        Only loopback clients may use it (403 otherwise): the control API resets data and
        injects faults, so an emulator started with ``--host 0.0.0.0`` must not offer it to
        the network.
        """
        if not _loopback(request.remote_addr):
            return _error(403, "The emulator's control API answers loopback addresses only.")
        adapter = _ROUTES.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except MethodNotAllowed as error:
            allowed = ", ".join(error.valid_methods or [])
            return _error(405, f"{request.method} is not allowed here; use {allowed}.")
        except NotFound:
            return _error(404, f"No control endpoint {request.path}.")
        except HTTPException as error:  # e.g. a redirect for a missing trailing slash
            return _error(error.code or 400, error.description or "bad request")
        try:
            handler: Callable[..., Response] = getattr(self, f"_http_{endpoint}")
            return handler(request, **args)
        except (_BadRequest, ValueError, TypeError) as error:
            return _error(400, str(error))

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        data = request.get_data()
        if not data.strip():
            return {}
        try:
            body = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise _BadRequest(f"the body is not JSON: {error}") from error
        if not isinstance(body, dict):
            raise _BadRequest("the body must be a JSON object")
        return body

    def _http_info(self, request: Request) -> Response:
        config = self.emulator.config
        base, api = config.login_base_url, config.api_base_url
        return _plain(
            {
                "tenant": config.tenant,
                "tenantDomains": list(config.tenant_domains),
                "environment": config.environment,
                "clientId": config.client_id,
                "authority": f"{base}/{config.tenant}",
                "tokenEndpoint": f"{base}/{config.tenant}/oauth2/v2.0/token",
                "authorizeEndpoint": f"{base}/{config.tenant}/oauth2/v2.0/authorize",
                "apiUrl": f"{api}/v2.0/{config.tenant}/{config.environment}/api/v2.0",
                "seed": config.seed,
            }
        )

    def _http_reset(self, request: Request) -> Response:
        seed = self._body(request).get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise _BadRequest("seed must be an integer")
        self.reset(seed)
        return _plain(
            {"reset": True, "seed": seed if seed is not None else self.emulator.config.seed}
        )

    def _http_clock(self, request: Request) -> Response:
        if request.method == "GET":
            return _plain(self.clock())
        advance = self._body(request).get("advance")
        if isinstance(advance, bool) or not isinstance(advance, int | float):
            raise _BadRequest('send {"advance": seconds}')
        return _plain(self.advance_clock(float(advance)))

    def _http_revoke(self, request: Request) -> Response:
        user = self._body(request).get("user")
        if user is not None and not isinstance(user, str):
            raise _BadRequest("user must be a string (oid or UPN)")
        return _plain({"revoked": self.revoke(user)})

    def _http_create(self, request: Request, company_id: str, entity_set: str) -> Response:
        return _plain(self.create(company_id, entity_set, self._body(request)), 201)

    def _http_record(
        self, request: Request, company_id: str, entity_set: str, key: str
    ) -> Response:
        if request.method == "DELETE":
            self.delete(company_id, entity_set, key)
            return Response(status=204)
        return _plain(self.change(company_id, entity_set, key, self._body(request)))

    def _http_limits(self, request: Request) -> Response:
        if request.method == "PUT":
            self.set_limits(**self._body(request))
        return _plain(self.limits.to_dict())

    def _http_faults(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.faults.clear()
        elif request.method in ("PUT", "POST"):
            body = self._body(request)
            raw = body.get("rules", [])
            if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
                raise _BadRequest("rules must be a list of objects")
            rules = [FaultRule.from_dict(item) for item in raw]
            seed = body.get("seed")
            if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
                raise _BadRequest("seed must be an integer")
            if request.method == "PUT":
                self.faults.set(rules, seed)
            else:
                for rule in rules:
                    self.faults.add(rule)
        return _plain(self.faults.to_dict())

    def _http_requests(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.log.clear()
            return Response(status=204)
        raw = request.args.get("limit")
        try:
            limit = int(raw) if raw is not None else None
        except ValueError as error:
            raise _BadRequest("limit must be an integer") from error
        return _plain({"value": self.requests(limit)})

    def _http_counters(self, request: Request) -> Response:
        return _plain(self.counters())

    def _http_webhooks(self, request: Request) -> Response:
        return _plain(self.webhooks())

    def _http_webhooks_flush(self, request: Request) -> Response:
        return _plain({"posts": self.flush_notifications()})

    def _http_webhooks_deliver(self, request: Request) -> Response:
        return _plain({"posts": self.deliver_notifications()})


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
