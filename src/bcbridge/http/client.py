"""``BCClient``: one keep-alive httpx client per BC connection, with retries and limits.

Every call gets a fresh ``client-request-id`` header (a uuid4) **per attempt**: BC logs and
correlates each HTTP request on its own (its telemetry and error ``CorrelationId`` are per
request), so a retry is a new request with a new id; :class:`RequestRecord` carries the
attempt number so the request log still shows which attempts belonged together.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from bcbridge.exceptions import ConfigurationError, InvalidResponse, TransportError
from bcbridge.http._errors import api_error
from bcbridge.http._wire import dumps, redact_url, version
from bcbridge.http.ratelimit import RateLimiter
from bcbridge.http.retry import RetryPolicy, is_idempotent, parse_retry_after
from bcbridge.http.urls import port_of, with_query

__all__ = ["BCClient", "RequestRecord", "dumps", "redact_url"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


_NO_BODY: Any = object()


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One HTTP attempt, as handed to ``on_request`` for the request log.

    Attributes:
        method: HTTP method.
        url: Absolute URL with secret query values redacted (:func:`redact_url`).
        status: HTTP status, ``None`` when no answer came (transport error).
        duration_ms: Wall time of the attempt in milliseconds (limiter wait excluded).
        request_bytes: Body bytes sent.
        response_bytes: Body bytes received.
        request_id: The ``client-request-id`` sent with this attempt.
        attempt: 1 for the first attempt of a call, 2 for its first retry, ...
        error: Exception class name for a transport error, BC error code for an error
            answer (or ``""``).
    """

    method: str
    url: str
    status: int | None
    duration_ms: float
    request_bytes: int
    response_bytes: int
    request_id: str
    attempt: int
    error: str = ""


class BCClient:
    """HTTP to one BC connection: keep-alive, auth, retries, rate limit, errors, request log.

    Args:
        base_url: Root that relative URLs are resolved against, e.g.
            ``https://api.businesscentral.dynamics.com/v2.0/{tenant}/{env}/api/v2.0/``.
            Absolute URLs must be on the same scheme, host and port.
        auth: An ``httpx.Auth`` (the token manager's ``BCAuth``), or ``None``.
        transport: An httpx transport (the emulator's in-process one in tests).
        timeout: Seconds per network operation, or an ``httpx.Timeout``.
        retry: :class:`RetryPolicy`; ``RetryPolicy()`` by default.
        limiter: A :class:`~bcbridge.http.ratelimit.RateLimiter` held around each attempt.
        on_request: Called with a :class:`RequestRecord` after every attempt; exceptions it
            raises propagate (keep it cheap and safe).
        user_agent: ``User-Agent`` header.
        data_access_intent: ``ReadOnly`` sends GETs to BC's read replica
            (``Data-Access-Intent``, docs/bc/3-odata-queries.md §3); never sent on writes, where BC rejects it.
        headers: Extra headers on every request (e.g. ``Accept-Language``).
    """

    def __init__(
        self,
        base_url: str,
        auth: httpx.Auth | None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout = 30.0,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        on_request: Callable[[RequestRecord], None] | None = None,
        user_agent: str | None = None,
        data_access_intent: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ConfigurationError(f"BCClient base_url must be an absolute http(s) URL, not {base_url!r}")
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._host = (parts.scheme.lower(), (parts.hostname or "").lower(), port_of(parts))
        self.retry = retry or RetryPolicy()
        self.limiter = limiter
        self.on_request = on_request
        self.data_access_intent = data_access_intent
        default_headers = {
            "Accept": "application/json",
            "User-Agent": user_agent or f"bcbridge/{version()}",
        }
        default_headers.update(headers or {})
        # BC processes 5 requests per user at once (docs/bc/5-limits.md §5): more sockets only queue.
        limits = httpx.Limits(max_connections=5, max_keepalive_connections=5, keepalive_expiry=60.0)
        self.http = httpx.Client(
            auth=auth,
            transport=transport,
            timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
            limits=limits,
            headers=default_headers,
            follow_redirects=False,
            http1=True,
            http2=False,
        )

    # -- URLs ----------------------------------------------------------------------------
    def resolve(self, url: str | httpx.URL) -> str:
        """Absolute URL for ``url``: relative ones join ``base_url`` (RFC 3986 style).

        Raises:
            ConfigurationError: ``url`` points at another scheme, host or port (for example
                a poisoned ``@odata.nextLink`` or endpoint template).
        """
        url = str(url)
        if url.startswith(self._origin) and url[len(self._origin) : len(self._origin) + 1] in {
            "/",
            "?",
            "",
        }:
            return url
        if url.startswith("//") or _SCHEME.match(url):
            if url.startswith("//"):  # scheme-relative: same scheme as the connection
                url = f"{self._host[0]}:{url}"
            parts = urlsplit(url)
            if (
                parts.scheme not in {"http", "https"}
                or (parts.scheme.lower(), (parts.hostname or "").lower(), port_of(parts)) != self._host
            ):
                raise ConfigurationError(
                    f"refusing URL {redact_url(url)!r}: only {self._origin} is allowed for this connection"
                )
            return url
        if url.startswith("/"):
            return self._origin + url
        return self.base_url + url

    # -- requests ------------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = _NO_BODY,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        etag: str | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send one logical call, retrying what :class:`RetryPolicy` allows.

        Args:
            method: HTTP method.
            url: Relative to ``base_url`` or absolute on the same host.
            params: Query parameters (``$filter``...), encoded by
                :func:`~bcbridge.http.urls.encode_query` and appended to any in ``url``.
            json: Body, serialized by :func:`dumps` (``Content-Type: application/json``).
            content: Raw body instead of ``json``.
            headers: Extra headers for this call.
            etag: ``If-Match`` value (an ``@odata.etag`` or ``*``); BC requires it on PATCH
                and DELETE (docs/bc/4-concurrency.md §4).
            idempotent: Override whether repeating is safe (default: :func:`is_idempotent`).

        Returns:
            The response (body read) when its status is below 400.

        Raises:
            BCAPIError: A subclass chosen by :func:`~bcbridge.exceptions.error_class_for`
                for the last error answer.
            TransportError: No answer after the allowed attempts.
            RateLimitTimeout: The limiter gave no slot in time.
            ConfigurationError: ``url`` leaves the connection's host.
        """
        method = method.upper()
        full = with_query(self.resolve(url), params)
        logged_url = redact_url(full)
        send_headers: dict[str, str] = dict(headers) if headers else {}
        if json is not _NO_BODY:
            content = dumps(json)
            send_headers.setdefault("Content-Type", "application/json")
        if etag is not None:
            send_headers["If-Match"] = etag
        if self.data_access_intent and method == "GET":
            send_headers.setdefault("Data-Access-Intent", self.data_access_intent)
        safe = idempotent if idempotent is not None else is_idempotent(method, etag)
        sent_bytes = len(content) if content else 0
        attempt = 0
        while True:
            attempt += 1
            request_id = str(uuid.uuid4())
            send_headers["client-request-id"] = request_id
            slot = self.limiter.acquire() if self.limiter is not None else None
            started = time.perf_counter()
            try:
                response = self.http.request(method, full, content=content, headers=send_headers)
            except httpx.TransportError as exc:
                self._log(
                    method,
                    logged_url,
                    None,
                    started,
                    sent_bytes,
                    0,
                    request_id,
                    attempt,
                    type(exc).__name__,
                )
                if self.retry.should_retry(method, None, exc, attempt, safe):
                    self.retry.wait(attempt)
                    continue
                raise TransportError(
                    f"{method} {logged_url}: {type(exc).__name__}: {exc} (client-request-id {request_id})"
                ) from exc
            finally:
                if slot is not None:
                    slot.release()
            status = response.status_code
            if status < 400:
                self._log(
                    method,
                    logged_url,
                    status,
                    started,
                    sent_bytes,
                    len(response.content),
                    request_id,
                    attempt,
                )
                return response
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            error = api_error(
                status,
                response.content,
                method=method,
                url=logged_url,
                request_id=request_id,
                retry_after=retry_after,
                reason=response.reason_phrase,
            )
            self._log(
                method,
                logged_url,
                status,
                started,
                sent_bytes,
                len(response.content),
                request_id,
                attempt,
                error.code or type(error).__name__,
            )
            if self.retry.should_retry(method, status, None, attempt, safe):
                self.retry.wait(attempt, retry_after)
                continue
            raise error

    def _log(
        self,
        method: str,
        url: str,
        status: int | None,
        started: float,
        sent: int,
        received: int,
        request_id: str,
        attempt: int,
        error: str = "",
    ) -> None:
        if self.on_request is None:
            return
        duration_ms = (time.perf_counter() - started) * 1000.0
        self.on_request(RequestRecord(method, url, status, duration_ms, sent, received, request_id, attempt, error))

    # -- JSON helpers --------------------------------------------------------------------
    def get_json(
        self,
        url: str | httpx.URL,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """GET and parse the JSON body (orjson); ``None`` for an empty body.

        Raises:
            InvalidResponse: The body is not JSON after every attempt (a truncated answer is
                retried like a broken connection).
        """
        return self._json_call("GET", url, params=params, headers=headers)

    def post_json(
        self,
        url: str | httpx.URL,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """POST ``body`` (``None``: no body, as bound actions expect) and parse the answer
        (``None`` for 204). Not retried unless BC proves it did not process it."""
        if body is None:
            return self._json_call("POST", url, content=b"", headers=headers, idempotent=idempotent)
        return self._json_call("POST", url, json=body, headers=headers, idempotent=idempotent)

    def patch_json(
        self,
        url: str | httpx.URL,
        body: Any,
        etag: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """PATCH with ``If-Match: etag`` and return the updated entity (docs/bc/4-concurrency.md §4, §10)."""
        return self._json_call("PATCH", url, json=body, etag=etag, headers=headers)

    def delete(self, url: str | httpx.URL, etag: str, *, headers: Mapping[str, str] | None = None) -> None:
        """DELETE with ``If-Match: etag`` (BC answers 204)."""
        self.request("DELETE", url, etag=etag, headers=headers)

    # -- lifecycle -----------------------------------------------------------------------
    def _json_call(self, method: str, url: str | httpx.URL, **options: Any) -> Any:
        """:meth:`request` and parse the answer; a body that is not JSON is retried when
        the request is safe to repeat (:func:`is_idempotent`), else raises."""
        safe = options.get("idempotent")
        if safe is None:
            safe = is_idempotent(method.upper(), options.get("etag"))
        attempt = 0
        while True:
            attempt += 1
            response = self.request(method, url, **options)
            try:
                return _json(response)
            except orjson.JSONDecodeError as exc:
                if safe and attempt < self.retry.max_attempts:
                    self.retry.wait(attempt)
                    continue
                request_id = response.request.headers.get("client-request-id", "")
                raise InvalidResponse(
                    f"{method.upper()} {redact_url(str(response.url))}: the {response.status_code} answer is not JSON "
                    f"({exc}; {len(response.content)} bytes, truncated?) (client-request-id {request_id})"
                ) from exc

    def close(self) -> None:
        """Close the keep-alive connections."""
        self.http.close()

    def __enter__(self) -> BCClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _json(response: httpx.Response) -> Any:
    content = response.content
    return orjson.loads(content) if content else None
