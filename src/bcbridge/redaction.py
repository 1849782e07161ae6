"""A logging filter that keeps secrets and tokens out of every log line.

Installed on bcbridge's handlers and, as a logger filter (which rewrites the record before
any handler, the propagated ones included, sees it), on ``django.request``,
``django.server`` and ``waitress``: those log request paths, and the webhook receiver's
path holds its secret token.
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactSecretsFilter", "redact"]

_PATTERNS = [
    # the webhook receiver's path token (anyone holding it may post notifications)
    (re.compile(r"(/webhooks/)[A-Za-z0-9_-]{8,}"), r"\1[redacted]"),
    # bearer tokens and JWTs
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1[redacted]"),
    (re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), "[redacted-jwt]"),
    # form or query parameters that carry secrets
    (
        re.compile(
            r"(?i)\b(client_secret|refresh_token|access_token|code_verifier|code|password|clientState)=([^&\s]+)"
        ),
        r"\1=[redacted]",
    ),
    (
        re.compile(r'(?i)"(client_secret|refresh_token|access_token|id_token|clientState)"\s*:\s*"[^"]*"'),
        r'"\1": "[redacted]"',
    ),
]


def redact(text: str) -> str:
    """``text`` with bearer tokens, JWTs and secret parameters replaced by ``[redacted]``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Rewrites each record's message so no handler ever sees a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
