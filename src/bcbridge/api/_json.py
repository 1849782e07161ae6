"""JSON for API answers: orjson (fast, UTF-8, no NaN), the same bytes every time for the same data."""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["dumps"]


def dumps(data: Any) -> bytes:
    return orjson.dumps(data)
