"""``picture``: the image of an item, customer, vendor or employee, with its media stream.

Sources:

* Microsoft API v2.0 reference ``resources/dynamics_picture`` (fields ``id``,
  ``parentType`` ``NAV.pictureEntityParentType``, ``width``, ``height``, ``contentType``,
  ``pictureContent`` stream; methods GET, PATCH, DELETE, no POST),
  ``api/dynamics_picture_get`` (``GET {parent}({id})/picture`` -> 200 with the entity, whose
  ``id`` is the parent's id, and ``pictureContent@odata.mediaEditLink`` /
  ``pictureContent@odata.mediaReadLink`` ending ``.../picture({id})/content``; ``GET`` of
  that link answers the raw image), ``api/dynamics_picture_update`` (``PATCH
  .../picture/pictureContent`` with ``If-Match`` *required* -> 204 No Content) and
  ``api/dynamics_picture_delete`` (``DELETE .../picture({id})`` -> 204, "the metadata will
  be updated on the same link": the picture stays, empty).
* The AL page ``APIV2Pictures.Page.al`` (page 30053, ``EntitySetName = 'pictures'``,
  ``InsertAllowed = false``, ``ODataKeyFields = Id``): every field but ``pictureContent``
  is ``Editable = false``, and the set is only reachable through its parent ("You must get
  to the parent first to get to the picture.").
* ``webservices/use-odata-batch`` (docs/bc §2.6): the documented ``$batch`` sample PATCHes
  ``items({id})/picture({id})/contentValue`` and is answered 204 with empty headers.

So the stream is served under ``pictureContent`` (the property), ``content`` (the
documented media links) and ``contentValue`` (the batch sample). ``width``, ``height`` and
``contentType`` are read from the image's own header (PNG, GIF, JPEG, BMP), as BC's media
store does; bytes of another format are kept and give ``0``, ``0`` and ``""``
(**UNVERIFIED**: BC's answer to a non-image upload is not documented; the batch sample
accepts ``"Picture Blob"`` with 204). A record without an image has a picture with
``0``/``0``/``""`` (**UNVERIFIED**), and ``GET`` of its stream answers 204 No Content as
OData answers a null property value (OData 4.01 part 1 §11.2.6; **UNVERIFIED** for BC).
Every write needs ``If-Match`` (docs/bc/4-concurrency.md §4). Pictures live per store (reset clears
them) and roll back with a ``$batch`` savepoint.
"""

from __future__ import annotations

import struct
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from werkzeug.wrappers import Response

from bcbridge.emulator.bc.etag import make_etag, matches
from bcbridge.emulator.errors import BCError, json_response

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

    from bcbridge.emulator.bc import BusinessCentral

__all__ = ["FIELDS", "PARENTS", "STREAM_SEGMENTS", "describe", "entity_json", "handle", "image_info", "parent_required"]

#: Parent entity set -> ``parentType`` (``NAV.pictureEntityParentType``, resources/dynamics_picture).
PARENTS = {"customers": "Customer", "items": "Item", "vendors": "Vendor", "employees": "Employee"}
#: Fields in the documented JSON order, with entities.json-style types.
FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "GUID"),
    ("parentType", "NAV.pictureEntityParentType"),
    ("width", "integer"),
    ("height", "integer"),
    ("contentType", "string"),
)
#: URL segments that address the media stream (see the module docstring).
STREAM_SEGMENTS = ("pictureContent", "content", "contentValue")

_STATE: weakref.WeakKeyDictionary[Any, dict[tuple[str, str, str], _Picture]] = weakref.WeakKeyDictionary()


@dataclass
class _Picture:
    content: bytes = b""
    version: int = 0


def image_info(data: bytes) -> tuple[int, int, str]:
    """``(width, height, media type)`` of a PNG, GIF, JPEG or BMP image, else ``(0, 0, "")``.

    Read from the format's header: PNG IHDR (RFC 2083 §4.1.1), GIF logical screen
    descriptor (GIF89a §18), JPEG start-of-frame marker (ITU-T T.81 §B.2.2), BMP info header.
    """
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height, "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height, "image/gif"
    if data[:2] == b"\xff\xd8":
        return _jpeg(data)
    if data[:2] == b"BM" and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return abs(width), abs(height), "image/bmp"
    return 0, 0, ""


def _jpeg(data: bytes) -> tuple[int, int, str]:
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return 0, 0, ""
        marker = data[at + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        # SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and at + 9 <= len(data):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height, "image/jpeg"
        at += 2 + length
    return 0, 0, ""


def _pictures(bc: BusinessCentral) -> dict[tuple[str, str, str], _Picture]:
    return _STATE.setdefault(bc.store, {})


def _etag(parent_id: str, picture: _Picture) -> str:
    return make_etag(f"picture:{parent_id}", picture.version)


def describe(bc: BusinessCentral, company_id: str, parent_set: str, parent_id: str) -> dict[str, Any]:
    """The picture's ``@odata.etag`` and fields, without media links (used by ``$expand``)."""
    picture = _pictures(bc).get((company_id, parent_set, parent_id), _Picture())
    width, height, content_type = image_info(picture.content)
    return {
        "@odata.etag": _etag(parent_id, picture),
        "id": parent_id,
        "parentType": PARENTS[parent_set],
        "width": width,
        "height": height,
        "contentType": content_type,
    }


def entity_json(base: str, company_id: str, parent_set: str, parent_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` (from :func:`describe`) with the documented media edit and read links."""
    link = f"{base}/companies({company_id})/{parent_set}({parent_id})/picture({parent_id})/content"
    return {**body, "pictureContent@odata.mediaEditLink": link, "pictureContent@odata.mediaReadLink": link}


def handle(
    bc: BusinessCentral,
    request: Request,
    prefix: str,
    company_id: str,
    context: str,
    parent_set: str,
    parent_id: str,
    raw_key: str | None,
    rest: list[tuple[str, str | None]],
) -> Response:
    """Serve ``{parent_set}({parent_id})/picture[({id})][/pictureContent|/content|/contentValue]``.

    ``context`` is the ``@odata.context`` path of the parent entity
    (``companies({id})/items({id})``). The caller has checked that the parent exists.

    Raises:
        BCError: 404 ``BadRequest_NotFound`` for a picture key other than the parent's id,
            404 ``BadRequest_ResourceNotFound`` for an unknown segment after the picture,
            400 ``BadRequest_InvalidToken`` without ``If-Match``, 409 (configurable)
            ``Request_EntityChanged`` on a stale one, 400 for a read-only or unknown field,
            405 ``BadRequest_MethodNotAllowed`` for POST (``InsertAllowed = false``).
    """
    from bcbridge.emulator.bc.reads import base_url
    from bcbridge.emulator.bc.routes import _key, not_found

    key = _key(raw_key)
    if key is not None and key != parent_id:
        raise BCError(404, "BadRequest_NotFound", "The specified resource was not found.")
    stream = False
    if rest:
        if len(rest) > 1 or rest[0][0] not in STREAM_SEGMENTS or rest[0][1] is not None:
            raise not_found(rest[-1][0] if rest[0][0] in STREAM_SEGMENTS else rest[0][0])
        stream = True
    method = request.method.upper()
    address = (company_id, parent_set, parent_id)
    with bc.store.lock:
        pictures = _pictures(bc)
        picture = pictures.get(address, _Picture())
        if stream:
            return _stream(bc, request, method, pictures, address, picture)
        if method == "GET":
            return _entity(bc, f"{base_url(bc, request)}{prefix}", context, address)
        if method in ("PATCH", "PUT", "DELETE"):
            _check_if_match(bc, request, parent_id, picture)
        if method == "DELETE":
            if address in pictures:
                pictures[address] = _Picture(b"", picture.version + 1)
            return Response(status=204, headers={"OData-Version": "4.0"})
        if method in ("PATCH", "PUT"):
            _check_read_only(request)
            return _entity(bc, f"{base_url(bc, request)}{prefix}", context, address)
        raise _not_allowed(method, "picture", "Entity" if key is not None else "EntitySet")


def _entity(bc: BusinessCentral, base: str, context: str, address: tuple[str, str, str]) -> Response:
    company_id, parent_set, parent_id = address
    body = entity_json(base, company_id, parent_set, parent_id, describe(bc, *address))
    response = json_response({"@odata.context": f"{base}/$metadata#{context}/picture/$entity", **body})
    response.headers["ETag"] = body["@odata.etag"]
    return response


def _stream(
    bc: BusinessCentral,
    request: Request,
    method: str,
    pictures: dict[tuple[str, str, str], _Picture],
    address: tuple[str, str, str],
    picture: _Picture,
) -> Response:
    if method == "GET":
        if not picture.content:
            return Response(status=204, headers={"OData-Version": "4.0"})
        media_type = image_info(picture.content)[2] or "application/octet-stream"
        return Response(picture.content, status=200, content_type=media_type, headers={"OData-Version": "4.0"})
    if method in ("PATCH", "PUT"):
        _check_if_match(bc, request, address[2], picture)
        pictures[address] = _Picture(request.get_data(), picture.version + 1)
        return Response(status=204, headers={"OData-Version": "4.0"})
    raise _not_allowed(method, "pictureContent", "Entity")


def _check_read_only(request: Request) -> None:
    try:
        body = orjson.loads(request.get_data() or b"{}")
    except orjson.JSONDecodeError as error:
        raise BCError(400, "BadRequest", f"Invalid Request Body: {error}") from error
    if not isinstance(body, dict):
        raise BCError(400, "BadRequest", "Invalid Request Body: a JSON object is expected.")
    names = {name for name, _ in FIELDS}
    for name in (k for k in body if not k.startswith("@odata.")):
        if name not in names:
            raise BCError(400, "BadRequest", f"The property '{name}' does not exist on type 'Microsoft.NAV.picture'.")
        # APIV2Pictures.Page.al: every field but pictureContent is Editable = false
        raise BCError(400, "BadRequest_InvalidOperation", f"Control '{name}' is read-only.")


def _check_if_match(bc: BusinessCentral, request: Request, parent_id: str, picture: _Picture) -> None:
    if_match = request.headers.get("If-Match")
    if not if_match:
        raise BCError(
            400,
            "BadRequest_InvalidToken",
            "Could not validate the client concurrency token required by "
            "the service. Please provide a valid token in the client request.",
        )
    if not matches(if_match, _etag(parent_id, picture)):
        raise BCError(
            bc.emulator.config.etag_mismatch_status,
            "Request_EntityChanged",
            "Another user has already changed the record.",
        )


def _not_allowed(method: str, what: str, kind: str) -> BCError:
    return BCError(
        405,
        "BadRequest_MethodNotAllowed",
        f"'{method}' requests for '{what}' of EdmType '{kind}' "
        "are not allowed within Microsoft Dynamics NAV OData web services.",
    )


def parent_required() -> BCError:
    """``GET .../pictures`` without a parent: the AL page's ``ParentNotSpecifiedErr``.

    The message is APIV2Pictures.Page.al's label; the code BC wraps it in is **UNVERIFIED**.
    """
    return BCError(400, "BadRequest", "You must get to the parent first to get to the picture.")
