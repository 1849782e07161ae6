"""Building blocks of the page and query web services (:mod:`._ws_pages`).

:class:`WsField` maps a BC field name (the AL control name with ``_``, docs/bc/2-urls.md §2.3) to an
API v2.0 field, a computed value or an extension field; :class:`WsPage` is one published
page or query; :class:`WsContext` caches the lookups of one request. Extension fields (what
BC has and API v2.0 lacks, e.g. seed 004's ``CatItemGroup``) live in a per-store side table
(:func:`extension_values`), so ``bc.reset()`` drops them with the data.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bcbridge.emulator.bc.schema import BLANK_GUID

__all__ = [
    "Getter",
    "RowBuilder",
    "WsContext",
    "WsField",
    "WsPage",
    "code_of",
    "const",
    "date_of",
    "extension_values",
    "read_only",
    "stable_hash",
    "store_rows",
]

Getter = Callable[["WsContext", dict[str, Any]], object]
RowBuilder = Callable[["WsContext"], list[tuple[dict[str, Any], "dict[str, Any] | None"]]]


@dataclass(frozen=True)
class WsField:
    """One field of a web service.

    Attributes:
        name: BC control name with ``_`` (``Unit_Price``).
        type: entities.json-style type (``string``, ``decimal``, ``boolean``, ``date``,
            ``integer``); options are ``string`` as in BC's ODataV4 metadata.
        source: The API v2.0 field it reads and writes, if any.
        get: Computed value when there is no ``source``.
        extension: Stored in the side table (editable, not part of API v2.0).
        editable: PATCH/POST may set it.
    """

    name: str
    type: str = "string"
    source: str | None = None
    get: Getter | None = None
    extension: object = None
    editable: bool = True

    @property
    def is_extension(self) -> bool:
        return self.extension is not None


@dataclass(frozen=True)
class WsPage:
    """A published page or query.

    Attributes:
        name: Service name in URLs (``ItemCard``). object_type / object_id: what BC publishes.
        entity_set: API v2.0 set the rows come from (``None`` for static tables/queries).
        keys: Key fields in key order. fields: Fields in JSON order.
        rows: Builds ``(row, source_record | None)`` pairs for a company.
        creatable / deletable: Whether POST / DELETE are served.
    """

    name: str
    object_type: str
    object_id: int
    entity_set: str | None
    keys: tuple[str, ...]
    fields: tuple[WsField, ...]
    rows: Callable[[WsContext], list[tuple[dict[str, Any], dict[str, Any] | None]]] | None = None
    creatable: bool = False
    deletable: bool = False
    by_name: dict[str, WsField] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_name.update({f.name: f for f in self.fields})

    @property
    def types(self) -> dict[str, str]:
        return {f.name: f.type for f in self.fields}


# Side table of extension fields: store -> {(company, service, record id): {field: value}}.
# Keyed by the store object, so bc.reset() (a new store) drops every stored value.
_EXTENSIONS: weakref.WeakKeyDictionary[Any, dict[tuple[str, str, str], dict[str, object]]] = weakref.WeakKeyDictionary()


def extension_values(store: Any, company_id: str, service: str, key: str) -> dict[str, object]:
    """The stored extension values of one record (a live dict the caller may update)."""
    table = _EXTENSIONS.setdefault(store, {})
    return table.setdefault((company_id.lower(), service, key.lower()), {})


class WsContext:
    """Lookups for building rows of one company (cached for one request)."""

    def __init__(self, bc: Any, company_id: str) -> None:
        self.bc = bc
        self.store = bc.store
        self.company_id = company_id
        self._sets: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self._by_id: dict[str, dict[str, dict[str, Any]]] = {}

    def records(self, entity_set: str) -> list[tuple[int, dict[str, Any]]]:
        if entity_set not in self._sets:
            self._sets[entity_set] = list(self.store.iter(self.company_id, entity_set))
        return self._sets[entity_set]

    def by_id(self, entity_set: str, key: object) -> dict[str, Any] | None:
        if entity_set not in self._by_id:
            self._by_id[entity_set] = {str(r["id"]).lower(): r for _, r in self.records(entity_set)}
        return self._by_id[entity_set].get(str(key or "").lower())

    def code(self, entity_set: str, key: object) -> str:
        if not key or key == BLANK_GUID:
            return ""
        record = self.by_id(entity_set, key)
        return str(record.get("code", "")) if record else ""


def stable_hash(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def date_of(name: str) -> Getter:
    return lambda ctx, r: str(r.get(name) or "")[:10] or "0001-01-01"


def code_of(entity_set: str, id_field: str) -> Getter:
    return lambda ctx, r: ctx.code(entity_set, r.get(id_field))


def const(value: object) -> Getter:
    return lambda ctx, r: value


def read_only(name: str, type_: str = "string", source: str | None = None, get: Getter | None = None) -> WsField:
    return WsField(name, type_, source, get, editable=False)


def store_rows(entity_set: str) -> Callable[[WsContext], list[tuple[dict[str, Any], dict[str, Any] | None]]]:
    def rows(ctx: WsContext) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        return [({}, record) for _, record in ctx.records(entity_set)]

    return rows
