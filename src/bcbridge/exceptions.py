"""Every error bcbridge raises, rooted at :class:`BCBridgeError`.

Each class says what the caller should do next: retry later (:class:`RetriableError`),
fix the input or configuration (:class:`FatalError`), or send a person to authorize the
connection again (:class:`AuthorizationRequired`). BC API errors are mapped from HTTP
status and BC error code by :func:`error_class_for` (one table, ``docs/bc/8-errors.md`` §8).
"""

from __future__ import annotations

__all__ = [
    "AuthenticationFailed",
    "AuthorizationRequired",
    "BCAPIError",
    "BCBridgeError",
    "BadRequest",
    "ConcurrencyConflict",
    "ConfigurationError",
    "FatalError",
    "InvalidClientCredentials",
    "InvalidResponse",
    "NotFound",
    "OAuthStateError",
    "PermissionDenied",
    "RateLimited",
    "RetriableError",
    "ServerError",
    "ServiceUnavailable",
    "TokenEndpointError",
    "TransportError",
    "error_class_for",
]


class BCBridgeError(Exception):
    """Root of every bcbridge error."""


class RetriableError(BCBridgeError):
    """Transient: the same request may succeed later (after ``retry_after`` seconds if set)."""

    retry_after: float | None = None


class FatalError(BCBridgeError):
    """Permanent: retrying the same request will fail the same way; fix the input."""


class ConfigurationError(FatalError):
    """A setting or a connection field is missing or wrong; the message names it."""


class OAuthStateError(FatalError):
    """An OAuth callback whose ``state`` or PKCE verifier does not match a pending sign-in."""


class TokenEndpointError(BCBridgeError):
    """The identity provider refused a token request.

    Attributes:
        error: The OAuth ``error`` value (``invalid_grant``, ``invalid_client``, ...).
        codes: AADSTS codes from ``error_codes`` (Entra, docs/bc/1-identity.md §1.5).
        description: ``error_description`` as sent (it starts with ``AADSTS<code>: ``).
        status: HTTP status of the token response.
    """

    def __init__(self, error: str, description: str = "", codes: tuple[int, ...] = (), status: int = 400) -> None:
        self.error = error
        self.description = description
        self.codes = codes
        self.status = status
        first_line = description.splitlines()[0] if description else ""
        # Named as the identity provider's answer, so nobody looks for the fault in BC.
        super().__init__(
            f"the identity provider refused: {error}: {first_line}"
            if first_line
            else f"the identity provider refused: {error}"
        )


class InvalidClientCredentials(TokenEndpointError, FatalError):
    """Wrong or expired client secret, or unknown client id (AADSTS7000215, 7000222, 700016).

    Fix the client id or secret on the connection.
    """


class AuthorizationRequired(TokenEndpointError, FatalError):
    """The grant is gone (``invalid_grant``: expired or revoked refresh token, AADSTS70008).

    A person must press Authorize on the connection again; bcbridge does not retry.
    """


class TransportError(RetriableError):
    """No HTTP response: connection refused or reset, DNS failure, timeout."""


class InvalidResponse(TransportError):
    """A success answer whose JSON body does not parse (a truncated transfer, a proxy's
    HTML page): as good as no answer. Safe requests are retried; for a write the outcome
    is unknown."""


class BCAPIError(BCBridgeError):
    """An error answer from the BC API, with everything needed to report or look it up.

    Attributes:
        status: HTTP status code.
        code: BC error code (``error.code``, e.g. ``Request_EntityChanged``), ``""`` if none.
        message: BC's message without the ``CorrelationId`` suffix.
        method: HTTP method of the request.
        url: Request URL (without secrets).
        request_id: Our ``client-request-id`` (also BC's correlation id when it sends one).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str = "",
        method: str = "",
        url: str = "",
        request_id: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.method = method
        self.url = url
        self.request_id = request_id
        self.retry_after = retry_after
        super().__init__(f"{status} {code or 'error'}: {message} ({method} {url}, client-request-id {request_id})")


class BadRequest(BCAPIError, FatalError):
    """400: the request or its data is invalid (``BadRequest_*``, ``Application_*``)."""


class AuthenticationFailed(BCAPIError, FatalError):
    """401 after a token refresh: the app is not allowed into this environment."""


class PermissionDenied(BCAPIError, FatalError):
    """403: the user or app lacks a BC permission set."""


class NotFound(BCAPIError, FatalError):
    """404: no such entity, record or endpoint (``BadRequest_ResourceNotFound``)."""


class ConcurrencyConflict(BCAPIError, FatalError):
    """409 ``Request_EntityChanged`` or 412: the ETag is stale; re-read, then re-apply."""


class RateLimited(BCAPIError, RetriableError):
    """429: over BC's per-user limits; wait ``retry_after`` seconds (docs/bc/5-limits.md §5)."""


class ServiceUnavailable(BCAPIError, RetriableError):
    """408, 502, 503, 504: BC is busy, timed out or restarting; retry with back-off."""


class ServerError(BCAPIError, RetriableError):
    """500 and other 5xx: BC failed; a GET may be retried, a write goes back to the outbox."""


_BY_STATUS: dict[int, type[BCAPIError]] = {
    400: BadRequest,
    401: AuthenticationFailed,
    403: PermissionDenied,
    404: NotFound,
    405: BadRequest,
    408: ServiceUnavailable,
    409: ConcurrencyConflict,
    412: ConcurrencyConflict,
    413: BadRequest,
    415: BadRequest,
    429: RateLimited,
    500: ServerError,
    502: ServiceUnavailable,
    503: ServiceUnavailable,
    504: ServiceUnavailable,
}

#: BC error codes whose meaning beats the HTTP status (docs/bc/8-errors.md §8 error table).
_BY_CODE: dict[str, type[BCAPIError]] = {
    "Request_EntityChanged": ConcurrencyConflict,
    "BadRequest_ResourceNotFound": NotFound,
    "Internal_RecordNotFound": NotFound,
    "Authentication_InvalidCredentials": AuthenticationFailed,
    "Internal_TenantUnavailable": ServiceUnavailable,
}


def error_class_for(status: int, code: str = "") -> type[BCAPIError]:
    """The exception class for a BC error answer: the code first, then the status.

    Args:
        status: HTTP status (400-599).
        code: BC ``error.code``, may be empty.
    """
    if code in _BY_CODE:
        return _BY_CODE[code]
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else BadRequest
