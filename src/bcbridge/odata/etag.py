"""ETag helpers: BC's ``@odata.etag`` values and ``If-Match``.

BC puts a weak ETag (``W/"JzQ0O2c4..."``) on every entity; PATCH and DELETE need it in
``If-Match`` (or ``*``), and a stale one gets 409 ``Request_EntityChanged`` (docs/bc/4-concurrency.md §4).
Treat the value as opaque.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ANY", "etag_of", "etags_match", "is_weak", "opaque_tag", "require_etag"]

#: ``If-Match: *``: skip BC's concurrency check (the batch sample uses it, §2.6).
ANY = "*"


def etag_of(record: Mapping[str, Any]) -> str | None:
    """The ``@odata.etag`` of an entity, or ``None`` when it has none."""
    value = record.get("@odata.etag")
    return value if isinstance(value, str) and value else None


def require_etag(record: Mapping[str, Any]) -> str:
    """The ``@odata.etag`` of an entity.

    Raises:
        ValueError: The entity has none (it was not read from BC, or ``$select`` dropped it).
    """
    value = etag_of(record)
    if value is None:
        raise ValueError("the record has no @odata.etag; read it from BC first")
    return value


def is_weak(etag: str) -> bool:
    """True for ``W/"..."`` (all BC entity ETags are weak)."""
    return etag.startswith(("W/", "w/"))


def opaque_tag(etag: str) -> str:
    """The quoted-string part without ``W/`` and quotes: ``W/"abc"`` -> ``abc``."""
    tag = etag[2:] if is_weak(etag) else etag
    if len(tag) >= 2 and tag[0] == '"' and tag[-1] == '"':
        tag = tag[1:-1]
    return tag


def etags_match(a: str | None, b: str | None, *, weak: bool = True) -> bool:
    """Compare two ETags (RFC 9110 §8.8.3.2).

    Args:
        a, b: ETags as sent by BC; ``None`` never matches.
        weak: Weak comparison (the opaque tags are equal, ``W/`` ignored), which is what
            BC's ``If-Match`` on entities uses; ``False`` for strong comparison (both strong
            and equal).
    """
    if a is None or b is None:
        return False
    if a == ANY or b == ANY:
        return True
    if not weak and (is_weak(a) or is_weak(b)):
        return False
    return opaque_tag(a) == opaque_tag(b)
