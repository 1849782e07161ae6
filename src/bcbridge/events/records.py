"""A mirrored record as the REST API and the events show it: BC's field names and JSON types.

Every typed mirror (:class:`~bcbridge.models.MirroredModel`) serializes to ``id`` (BC's
``id``), its BC fields in JSON order with BC's names (the columns' verbose names, docs/bc/7-entities.md
§7.3), then ``lastModifiedDateTime``, ``@odata.etag`` and bcbridge's own ``deleted``,
``deletedAt`` (tombstones) and ``syncedAt``. Types follow docs/bc/7-entities.md §7.2, except decimals:
BC sends JSON numbers, bcbridge sends their exact decimal text (``"152.03"``, at most 10
places, the column scale) so no client parses an amount into a binary float. Date-times are
UTC with ``Z`` as BC writes them.

One plan per model (:func:`plan`) drives both the JSON and the OpenAPI schema, so they
cannot disagree.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.db import models

from bcbridge.models import MirroredModel, MirrorRecord

__all__ = [
    "DECIMAL_PATTERN",
    "GENERIC_COLUMNS",
    "FieldPlan",
    "Plan",
    "datetime_text",
    "decimal_text",
    "generic_record",
    "instance_record",
    "plan",
    "rows_to_records",
]

#: The text of a decimal (no exponent, at most 10 places): the schema's ``pattern``.
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]{1,10})?$"

#: Columns of :class:`~bcbridge.models.mirror.MirrorFields` that are bcbridge's, not BC's.
_OWN = frozenset(
    {
        "id",
        "bc_id",
        "connection",
        "company",
        "etag",
        "last_modified_date_time",
        "raw",
        "first_synced_at",
        "synced_at",
        "seen_at",
        "deleted",
        "deleted_at",
        "parent",
    }
)

_KINDS = {
    "TextField": "string",
    "CharField": "string",
    "UUIDField": "guid",
    "DecimalField": "decimal",
    "IntegerField": "integer",
    "BigIntegerField": "integer",
    "PositiveIntegerField": "integer",
    "SmallIntegerField": "integer",
    "BooleanField": "boolean",
    "DateField": "date",
    "DateTimeField": "datetime",
}


def decimal_text(value: Decimal | None) -> str | None:
    """``Decimal('12.5000000000')`` -> ``"12.5"``; ``None`` stays ``None``."""
    if value is None:
        return None
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def datetime_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _date_text(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _guid_text(value: uuid.UUID | str | None) -> str | None:
    return None if value is None else str(value)


def _same(value: Any) -> Any:
    return value


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "string": lambda v: "" if v is None else v,
    "guid": _guid_text,
    "decimal": decimal_text,
    "integer": _same,
    "boolean": _same,
    "date": _date_text,
    "datetime": datetime_text,
}


@dataclass(frozen=True)
class FieldPlan:
    """One output field: JSON ``name``, model ``attname``, JSON ``kind`` (string, guid,
    decimal, integer, boolean, date, datetime), whether BC sends it (``bc``)."""

    name: str
    attname: str
    kind: str
    bc: bool = True

    @property
    def convert(self) -> Callable[[Any], Any]:
        return _CONVERT[self.kind]


@dataclass(frozen=True)
class Plan:
    """The output fields of one model, in order."""

    model: type[models.Model]
    fields: tuple[FieldPlan, ...]

    @functools.cached_property
    def by_name(self) -> dict[str, FieldPlan]:
        return {f.name: f for f in self.fields}

    def select(self, names: Iterable[str] | None) -> tuple[FieldPlan, ...]:
        """The fields named (``id`` always first), in plan order.

        Raises:
            ValueError: an unknown name, with the known ones.
        """
        if not names:
            return self.fields
        wanted = set(names)
        unknown = sorted(wanted - set(self.by_name))
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(self.by_name)}")
        wanted.add("id")
        return tuple(f for f in self.fields if f.name in wanted)


@functools.cache
def plan(model: type[models.Model]) -> Plan:
    """The output plan of a typed mirror model."""
    if not issubclass(model, MirroredModel):
        raise TypeError(f"{model.__name__} is not a typed mirror")
    fields = [FieldPlan("id", "bc_id", "guid")]
    for column in model._meta.concrete_fields:
        if column.name in _OWN:
            continue
        kind = _KINDS.get(column.get_internal_type(), "string")
        fields.append(FieldPlan(getattr(column, "bc_name", None) or column.name, column.attname, kind))
    fields += [
        FieldPlan("lastModifiedDateTime", "last_modified_date_time", "datetime"),
        FieldPlan("@odata.etag", "etag", "string"),
        FieldPlan("deleted", "deleted", "boolean", bc=False),
        FieldPlan("deletedAt", "deleted_at", "datetime", bc=False),
        FieldPlan("syncedAt", "synced_at", "datetime", bc=False),
    ]
    return Plan(model, tuple(fields))


def rows_to_records(fields: Sequence[FieldPlan], rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """``values_list(*[f.attname for f in fields])`` rows -> JSON-ready dicts."""
    names = [f.name for f in fields]
    converters = [f.convert for f in fields]
    pairs = list(zip(names, converters, strict=True))
    return [{name: convert(value) for (name, convert), value in zip(pairs, row, strict=True)} for row in rows]


def instance_record(instance: models.Model, fields: Sequence[FieldPlan] | None = None) -> dict[str, Any]:
    """One model instance -> its JSON-ready dict."""
    chosen = fields if fields is not None else plan(type(instance)).fields
    return {f.name: f.convert(getattr(instance, f.attname)) for f in chosen}


#: Columns of a generic record (``MirrorRecord``), in output order.
GENERIC_COLUMNS = (
    "key",
    "api",
    "entity_set",
    "etag",
    "last_modified_date_time",
    "deleted",
    "deleted_at",
    "synced_at",
    "raw",
)


def generic_record(row: Sequence[Any] | MirrorRecord) -> dict[str, Any]:
    """A generic mirrored record (``values_list(*GENERIC_COLUMNS)`` row or instance) -> dict:
    ``key``, ``api``, ``entitySet``, ``@odata.etag``, ``lastModifiedDateTime``, ``deleted``,
    ``deletedAt``, ``syncedAt`` and ``data`` (the payload as BC sent it)."""
    if isinstance(row, MirrorRecord):
        row = tuple(getattr(row, name) for name in GENERIC_COLUMNS)
    key, api, entity_set, etag, modified, deleted, deleted_at, synced_at, raw = row
    return {
        "key": key,
        "api": api,
        "entitySet": entity_set,
        "@odata.etag": etag,
        "lastModifiedDateTime": datetime_text(modified),
        "deleted": deleted,
        "deletedAt": datetime_text(deleted_at),
        "syncedAt": datetime_text(synced_at),
        "data": raw,
    }
