"""Deterministic ids, numbers and timestamps for the generated data.

Every base record is a pure function of ``(seed, company, entity set, index)``. A cheap
integer mixer (splitmix64) replaces ``random.Random`` so a 20,000-record page builds fast.
GUIDs carry their index in the last 12 hex digits (xor a per-set mask), so a key maps back
to its index without any lookup table: :func:`guid_index` inverts :func:`guid`.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

__all__ = ["Salt", "format_datetime", "guid", "guid_index", "mix", "salt"]

_M64 = (1 << 64) - 1
_M48 = (1 << 48) - 1


def mix(x: int) -> int:
    """splitmix64 finaliser: a well-spread 64-bit hash of ``x``."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


class Salt:
    """Hash inputs of one (seed, company, entity set); ``h(i, k)`` is the k-th value of record i."""

    __slots__ = ("mask", "value")

    def __init__(self, value: int) -> None:
        self.value = value
        self.mask = mix(value ^ 0x5A5A) & _M48

    def h(self, index: int, k: int = 0) -> int:
        # mix() inlined: this runs several times per generated record.
        x = ((self.value ^ (index * 0x100000001B3) ^ (k << 56)) + 0x9E3779B97F4A7C15) & _M64
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
        return x ^ (x >> 31)

    def pick(self, index: int, k: int, n: int) -> int:
        """A deterministic number in ``range(n)``."""
        return self.h(index, k) % n


def salt(seed: int, company: int, name: str) -> Salt:
    """The :class:`Salt` of one entity set of one company."""
    return Salt(mix((seed << 20) ^ (company << 40) ^ zlib.crc32(name.encode())))


def guid(s: Salt, index: int) -> str:
    """The GUID of record ``index``: 20 hashed hex digits, then the masked index."""
    high = s.h(index, 7)
    return (f"{high >> 32:08x}-{(high >> 16) & 0xFFFF:04x}-{high & 0xFFFF:04x}-"
            f"{(high >> 3) & 0xFFFF:04x}-{(index ^ s.mask) & _M48:012x}")


def guid_index(s: Salt, key: str) -> int | None:
    """The index whose :func:`guid` is ``key`` (case-insensitive), else ``None``."""
    key = key.lower()
    if len(key) != 36:
        return None
    try:
        index = int(key[24:], 16) ^ s.mask
    except ValueError:
        return None
    return index if guid(s, index) == key else None


def format_datetime(value: datetime) -> str:
    """BC's Edm.DateTimeOffset text: UTC, ``Z``, milliseconds only when non-zero.

    Source: docs/bc/7-entities.md §7.2 (``"2020-08-21T00:24:19.347Z"``).
    """
    value = value.astimezone(UTC)
    ms = value.microsecond // 1000
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{ms:03d}Z" if ms else f"{text}Z"


_DAYS: dict[int, str] = {}


def format_ms(epoch_ms: int) -> str:
    """:func:`format_datetime` of Unix milliseconds (fast path for generated records)."""
    day, rest = divmod(epoch_ms, 86_400_000)
    prefix = _DAYS.get(day)
    if prefix is None:
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)
        prefix = _DAYS[day] = moment.strftime("%Y-%m-%dT")
    seconds, ms = divmod(rest, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    if ms:
        return f"{prefix}{hour:02d}:{minute:02d}:{second:02d}.{ms:03d}Z"
    return f"{prefix}{hour:02d}:{minute:02d}:{second:02d}Z"
