"""Rows of page web services: rendering, ETags, keys and the mapping back to API fields."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson

from bcbridge.emulator.bc._ws_pages import WsContext, WsPage, extension_values
from bcbridge.emulator.bc.odata import split_top_level
from bcbridge.emulator.errors import BCError

__all__ = ["Row", "find_row", "parse_key", "rows", "split_body", "ws_etag"]

#: One row of a service: (JSON dict with ``@odata.etag`` first, source API record or None).
Row = tuple[dict[str, Any], dict[str, Any] | None]


def ws_etag(seed: str) -> str:
    """A page web service ETag in BC's format: base64 of ``'20;<20 digits>1;00;'``
    (seed 004's sample ``W/"JzIwOzEyMTIwNjMyMTc5MTExMDYzNDkxMTswMDsn"``)."""
    digits = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:9], "big") % 10**20
    inner = f"'20;{digits:020d}1;00;'".encode()
    return 'W/"' + base64.b64encode(inner).decode() + '"'


def _render(page: WsPage, ctx: WsContext, row: dict[str, Any], record: dict[str, Any] | None) -> dict[str, Any]:
    if record is None:
        if page.object_type == "Page":
            return {"@odata.etag": ws_etag(orjson.dumps(row).decode()), **row}
        return dict(row)
    stored = extension_values(ctx.store, ctx.company_id, page.name, str(record["id"]))
    body: dict[str, object] = {}
    for field in page.fields:
        if field.source is not None:
            value = record.get(field.source)
            body[field.name] = "" if value is None else value
        elif field.is_extension:
            default = field.extension
            body[field.name] = (
                stored[field.name] if field.name in stored else (default(ctx, record) if callable(default) else default)
            )
        elif field.get is not None:
            body[field.name] = field.get(ctx, record)
    api_etag = ctx.store.etag(ctx.company_id, page.entity_set, str(record["id"]))
    seed = api_etag + orjson.dumps(stored, option=orjson.OPT_SORT_KEYS).decode()
    return {"@odata.etag": ws_etag(seed), **body}


def rows(page: WsPage, ctx: WsContext) -> list[Row]:
    """Every row of ``page`` for the context's company, in the page's key order."""
    assert page.rows is not None
    return [(_render(page, ctx, row, record), record) for row, record in page.rows(ctx)]


def _literal(text: str) -> object:
    text = text.strip()
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        return text[1:-1].replace("''", "'")
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise BCError(
                400,
                "BadRequest_NotFound",
                f"Bad Request - Error in query syntax. The key value '{text}' is not valid.",
            ) from None


def parse_key(page: WsPage, raw: str) -> dict[str, object]:
    """``'1000'`` or ``No='1000'`` or ``Document_Type='Order',No='101001'`` -> values by key.

    Raises:
        BCError: 400 ``BadRequest_NotFound`` when the key does not fit the page's keys
            (docs/bc/2-urls.md §2.3; the composite form is UNVERIFIED in the docs).
    """
    parts = split_top_level(raw)
    values: dict[str, object] = {}
    for part in parts:
        name, sep, value = part.partition("=")
        if sep and not name.strip().startswith("'"):
            if name.strip() not in page.keys:
                raise BCError(
                    400,
                    "BadRequest_NotFound",
                    f"Bad Request - Error in query syntax. '{name.strip()}' is not a key of '{page.name}'.",
                )
            values[name.strip()] = _literal(value)
        elif len(parts) == 1 and len(page.keys) == 1:
            values[page.keys[0]] = _literal(part)
        else:
            raise BCError(
                400,
                "BadRequest_NotFound",
                f"Bad Request - Error in query syntax. The key '{raw}' does not name "
                f"every key field of '{page.name}' ({', '.join(page.keys)}).",
            )
    if set(values) != set(page.keys):
        raise BCError(
            400,
            "BadRequest_NotFound",
            f"Bad Request - Error in query syntax. The key '{raw}' does not name every "
            f"key field of '{page.name}' ({', '.join(page.keys)}).",
        )
    types = {f.name: f.type for f in page.fields}
    for name, value in values.items():
        # an Edm.String key is a quoted literal (OData v4.01 part 2 §4.3.1, ItemCard('1000') in
        # docs/bc/2-urls.md §2.3): ItemCard(1000) is a syntax error, not the item '1000'. BC's code
        # for it is the query-syntax one of its error table (UNVERIFIED for this case).
        if types.get(name, "string") == "string" and not isinstance(value, str):
            raise BCError(
                400,
                "BadRequest_NotFound",
                f"Bad Request - Error in query syntax. The key value '{value}' of '{name}' must be "
                f"a string literal in single quotes: '{value}'.",
            )
    return values


def find_row(page: WsPage, ctx: WsContext, key: dict[str, object]) -> Row:
    """The row whose key fields equal ``key``.

    Raises:
        BCError: 404 ``BadRequest_NotFound`` when there is none.
    """
    for body, record in rows(page, ctx):
        if all(str(body.get(name)) == str(value) for name, value in key.items()):
            return body, record
    raise BCError(404, "BadRequest_NotFound", "The specified resource was not found.")


def split_body(page: WsPage, body: Any, current: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a PATCH/POST body into (API v2.0 changes, extension-field changes).

    Raises:
        BCError: 400 ``BadRequest`` for a non-object body or an unknown property; 400
            ``BadRequest_InvalidOperation`` for a changed non-editable field.
    """
    if not isinstance(body, dict):
        raise BCError(400, "BadRequest", "Invalid Request Body")
    api: dict[str, object] = {}
    extension: dict[str, object] = {}
    for name, value in body.items():
        if name.startswith("@odata."):
            continue
        field = page.by_name.get(name)
        if field is None:
            raise BCError(
                400,
                "BadRequest",
                f"The property '{name}' does not exist on type 'NAV.{page.name}'. Make "
                "sure to only use property names that are defined by the type.",
            )
        if not field.editable:
            if current is not None and current.get(name) == value:
                continue
            raise BCError(
                400,
                "BadRequest_InvalidOperation",
                f"Control '{name.replace('_', ' ')}' is read-only.",
            )
        if field.source is not None:
            api[field.source] = value
        elif field.is_extension:
            extension[name] = value
    return api, extension
