"""Turn a BC error answer into the exception class the error table chooses."""

from __future__ import annotations

import re
from typing import Any

import orjson

from bcbridge.exceptions import BCAPIError, error_class_for

__all__ = ["api_error", "strip_correlation_id"]

# BC appends "  CorrelationId:  <guid>." to every error message (docs/bc/8-errors.md §8).
_CORRELATION = re.compile(r"\s*CorrelationId:\s*[0-9A-Za-z-]*\.?\s*$")


def strip_correlation_id(message: str) -> str:
    """BC's message without its trailing ``CorrelationId:  <id>.``."""
    return _CORRELATION.sub("", message)


def error_fields(body: Any) -> tuple[str, str]:
    """``(code, message)`` from an OData JSON error body ``{"error": {"code", "message"}}``."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            message = error.get("message")
            return (
                str(code) if code is not None else "",
                str(message) if message is not None else "",
            )
    return "", ""


def api_error(
    status: int,
    content: bytes | Any,
    *,
    method: str,
    url: str,
    request_id: str,
    retry_after: float | None = None,
    reason: str = "",
) -> BCAPIError:
    """The :class:`BCAPIError` subclass for one error answer, filled in.

    Args:
        status: HTTP status.
        content: The raw body, or an already decoded JSON value (``$batch`` inner answers).
        method, url, request_id, retry_after: Copied onto the exception.
        reason: Fallback message (HTTP reason phrase) when the body has none.
    """
    body: Any = content
    if isinstance(content, bytes | bytearray | memoryview):
        try:
            body = orjson.loads(content) if content else None
        except orjson.JSONDecodeError:
            body = None
            text = bytes(content[:500]).decode("utf-8", "replace").strip()
            reason = text or reason
    code, message = error_fields(body)
    message = strip_correlation_id(message) if message else (reason or f"HTTP {status}")
    cls = error_class_for(status, code)
    return cls(
        message,
        status=status,
        code=code,
        method=method,
        url=url,
        request_id=request_id,
        retry_after=retry_after,
    )
