"""Checks and conversions of values written to API v2.0 entities, with BC's error codes.

Codes and messages follow docs/bc/8-errors.md §8: read-only field -> 400
``BadRequest_InvalidOperation``; bad GUID -> ``Application_InvalidGUID``; string too long ->
``Application_StringExceededLength``; unconvertible date -> ``BadRequest``; enum value not
in the list -> "'X' is not an option. The existing options are: A,B,C" with code
``Unknown`` (the literal response in
https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/webservices/use-odata-batch;
the code is
the setting ``config.extra["enum_error_code"]``).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from bcbridge.emulator.bc._ids import format_datetime
from bcbridge.emulator.bc.schema import EntitySet, Field
from bcbridge.emulator.errors import BCError

__all__ = ["convert", "validate_body"]

_GUID = re.compile(r"^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}\}?$")
_GUID_ERROR = ("Invalid format of GUID string. The correct format of the GUID string is: "
               "CDEF7890-ABCD-1234-ABCD-1234567890AB where 0-9, A-F symbolise hexadecimal "
               "digits.")


def _type_error(value: Any, edm: str) -> BCError:
    return BCError(400, "BadRequest",
                   f"Invalid Request Body. Cannot convert the literal '{value}' to the expected "
                   f"type '{edm}'.")


def convert(f: Field, value: Any, *, enum_code: str = "Unknown") -> Any:
    """The stored form of ``value`` written to field ``f``.

    Raises:
        BCError: 400 with BC's code for a value of the wrong shape (module docstring).
    """
    if f.type == "GUID":
        if not isinstance(value, str) or not _GUID.match(value):
            raise BCError(400, "Application_InvalidGUID", _GUID_ERROR)
        return value.strip("{}").lower()
    if f.type == "date":
        if not isinstance(value, str):
            raise _type_error(value, "Edm.Date")
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise _type_error(value, "Edm.Date") from None
    if f.type == "datetime":
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise _type_error(value, "Edm.DateTimeOffset") from None
        return format_datetime(moment)
    if f.type in ("decimal", "integer", "int64"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _type_error(value, f.edm_type)
        if f.type != "decimal" and not float(value).is_integer():
            raise _type_error(value, f.edm_type)
        return int(value) if f.type != "decimal" or float(value).is_integer() else value
    if f.type == "boolean":
        if not isinstance(value, bool):
            raise _type_error(value, "Edm.Boolean")
        return value
    if f.is_enum:
        options = [o for o in f.enum]
        if value not in options:
            raise BCError(400, enum_code, f"'{value}' is not an option. The existing options "
                          f"are: {','.join(o.strip() or ' ' for o in options)}")
        return value
    if not isinstance(value, str):
        raise _type_error(value, "Edm.String")
    if f.max_length is not None and len(value) > f.max_length:
        raise BCError(400, "Application_StringExceededLength",
                      f"The length of the string is {len(value)}, but it must be less than or "
                      f"equal to {f.max_length} characters. Value: {value}")
    return value


def validate_body(es: EntitySet, body: Any, *, enforce_read_only: bool, reject_read_only: bool,
                  enum_code: str, allowed_extra: set[str], current: dict | None = None
                  ) -> tuple[dict, dict]:
    """Split a request body into converted field values and nested collections.

    Args:
        es: The entity set written. body: The parsed JSON body.
        enforce_read_only: Check read-only fields at all (False for the control API).
        reject_read_only: True: writing a read-only field is an error; False: it is ignored.
        enum_code: Error code for enum values not in the list.
        allowed_extra: Names allowed besides fields (containment navigations for deep insert).
        current: The stored record on PATCH (a read-only field sent unchanged is accepted).

    Returns:
        ``(values, nested)``: field -> stored value, navigation -> list of line bodies.

    Raises:
        BCError: 400 ``BadRequest`` for a body that is not an object or names an unknown
            property; the codes of :func:`convert`; 400 ``BadRequest_InvalidOperation``
            "Control '<field>' is read-only." (docs/bc/8-errors.md §8, §10).
    """
    if not isinstance(body, dict):
        raise BCError(400, "BadRequest", "Invalid Request Body")
    values: dict = {}
    nested: dict = {}
    for name, value in body.items():
        if name.startswith("@"):
            continue
        if name in allowed_extra:
            if not isinstance(value, list):
                raise BCError(400, "BadRequest", "Invalid Request Body")
            nested[name] = value
            continue
        f = es.by_name.get(name)
        if f is None:
            raise BCError(400, "BadRequest", f"Invalid Request Body. The property '{name}' does "
                          f"not exist on type 'Microsoft.NAV.{es.entity}'. Make sure to only use "
                          "property names that are defined by the type.")
        if value is None:
            value = f.blank()
        converted = convert(f, value, enum_code=enum_code)
        if f.read_only and enforce_read_only:
            unchanged = current is not None and str(current.get(name)).lower() == \
                str(converted).lower()
            if unchanged:
                continue
            if reject_read_only:
                raise BCError(400, "BadRequest_InvalidOperation", f"Control '{name}' is read-only.")
            continue
        values[name] = converted
    return values, nested
