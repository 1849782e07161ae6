"""ETags in BC's format (docs/bc/4-concurrency.md §4).

BC sends ``W/"<base64>"`` where the base64 decodes to ``'44;<44-char base64 hash>1;00;'``.
The emulator hashes the record's id, its row version and ``lastModifiedDateTime``, so two
GETs without a change give the same ETag and every write gives a new one.
"""

from __future__ import annotations

import hashlib
from base64 import b64encode

__all__ = ["make_etag", "matches"]

_PREFIX, _HEAD, _TAIL = 'W/"', b"'44;", b"1;00;'"


def make_etag(key: str, version: int, modified: str = "") -> str:
    """The ``@odata.etag`` of a record: ``W/"..."`` (docs/bc/4-concurrency.md §4 format)."""
    digest = hashlib.sha256(f"{key}|{version}|{modified}".encode()).digest()
    return _PREFIX + b64encode(_HEAD + b64encode(digest) + _TAIL).decode() + '"'

def matches(if_match: str, current: str) -> bool:
    """Whether an ``If-Match`` header value accepts ``current`` (``*`` accepts anything).

    Accepts the ETag with or without the ``W/`` prefix and a comma-separated list.
    """
    for candidate in (part.strip() for part in if_match.split(",")):
        if candidate == "*":
            return True
        if candidate.removeprefix("W/") == current.removeprefix("W/"):
            return True
    return False
