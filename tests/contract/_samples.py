"""Microsoft's documented samples (``samples/*.json``) and the shape comparison the contract
tests use.

A sample file holds one request/response example copied from a Microsoft page, the page's URL
(``source``) and a note, in the project's own words, of what the example shows (``shows``).
Most BC reference pages warn that "the response object shown here may be truncated for
brevity", so :func:`assert_documented_shape` holds the emulator to what the sample *shows*:
every member in it, in the same relative order, with the same JSON type and the same kind of
string (GUID, date, UTC datetime). Values themselves are data and differ.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import orjson

__all__ = [
    "CORRELATION",
    "assert_documented_shape",
    "assert_error_body",
    "load",
    "string_kind",
]

SAMPLES = Path(__file__).parent / "samples"

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Edm.DateTimeOffset as BC writes it: UTC with ``Z``, fractions only when not zero
#: (``2020-08-21T00:24:19.347Z``, ``2023-09-02T17:49:38.5Z``, ``2018-10-29T07:52:31Z``).
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$")
#: The tail BC appends to every error message: two spaces, ``CorrelationId:``, two spaces,
#: an id and a full stop (docs/bc §8; the $batch sample shows ``CorrelationId:  x.``).
CORRELATION = r"  CorrelationId:  [^ ]+\.$"


@cache
def _read(name: str) -> bytes:
    return (SAMPLES / f"{name}.json").read_bytes()


def load(name: str) -> dict[str, Any]:
    """A fresh copy of ``samples/<name>.json``."""
    sample = orjson.loads(_read(name))
    assert isinstance(sample, dict)
    return sample


def string_kind(value: str) -> str:
    """``guid``, ``date``, ``datetime`` or ``text``: the kind of string a sample shows."""
    if GUID.match(value):
        return "guid"
    if DATE.match(value):
        return "date"
    if DATETIME.match(value):
        return "datetime"
    return "text"


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return type(value).__name__


def assert_documented_shape(
    actual: dict[str, Any], documented: dict[str, Any], where: str = "", *, ordered: bool = True
) -> None:
    """Assert that ``actual`` has every member of ``documented``, in the same order, alike in type.

    ``ordered=False`` drops the order check, for answers whose samples disagree on the order
    (Entra's token responses).

    Members the sample does not show may appear anywhere (the pages truncate); OData
    annotations (``@odata.*``) are not compared unless the sample shows them. An int64 member
    (an integer in the sample, such as ``timestamp``) must stay an integer.

    Raises:
        AssertionError: naming the first member that is missing, out of order or of another
            type or string kind.
    """
    keys = [k for k in actual if not k.startswith("@") or k in documented]
    missing = [k for k in documented if k not in actual]
    assert not missing, f"{where}: members of the documented sample missing: {missing}"
    positions = [keys.index(k) for k in documented]
    assert not ordered or positions == sorted(positions), (
        f"{where}: members out of the documented order: documented {list(documented)}, "
        f"got {[k for k in keys if k in documented]}"
    )
    for key, value in documented.items():
        got = actual[key]
        assert _json_type(got) == _json_type(value), (
            f"{where}.{key}: documented {_json_type(value)} ({value!r}), got {_json_type(got)} ({got!r})"
        )
        if isinstance(value, int) and not isinstance(value, bool) and key == "timestamp":
            assert isinstance(got, int), f"{where}.{key}: an int64 in the sample, got {got!r}"
        if isinstance(value, str):
            assert string_kind(got) == string_kind(value) or string_kind(value) == "text", (
                f"{where}.{key}: documented a {string_kind(value)} ({value!r}), got {got!r}"
            )
        if isinstance(value, dict):
            assert_documented_shape(got, value, f"{where}.{key}", ordered=ordered)


def assert_error_body(body: Any, code: str, message: str) -> None:
    """Assert BC's OData error body: only ``error`` with ``code`` and the documented message.

    ``message`` is the text of the docs' error table; the table sometimes drops the final full
    stop, so one optional full stop is allowed before the correlation tail.
    """
    assert isinstance(body, dict) and list(body) == ["error"], body
    error = body["error"]
    assert list(error) == ["code", "message"], error
    assert error["code"] == code, error
    pattern = re.escape(message.rstrip(".")) + r"\.?" + CORRELATION
    assert re.match(pattern, error["message"]), f"{error['message']!r} does not match {pattern!r}"
