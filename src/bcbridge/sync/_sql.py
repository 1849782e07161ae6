"""One prepared ``INSERT ... ON CONFLICT DO UPDATE`` per model, run with ``executemany``.

This is what ``bulk_create(update_conflicts=True, unique_fields=..., update_fields=...)``
sends, without the ORM's per-row SQL compilation, which costs several times the database
work for wide mirror rows (and on SQLite splits a page into batches of 999 variables).
Values are adapted once per column with the backend's own adapters (``connection.ops``),
so they are stored exactly as the ORM would store them. Both SQLite (3.24+) and PostgreSQL
understand the statement.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from django.db import connections, models, router

__all__ = ["aware", "select_by_keys", "upsert_rows"]

_IDENTITY_TYPES = frozenset(
    {
        "TextField",
        "CharField",
        "BooleanField",
        "IntegerField",
        "BigIntegerField",
        "PositiveIntegerField",
        "SmallIntegerField",
        "FloatField",
        "DecimalField",
        "ForeignKey",
        "AutoField",
        "BigAutoField",
    }
)


class _Memo:
    """Adapt each distinct value once: a page's rows share their sync stamps."""

    def __init__(self, adapt: Callable[[Any], Any]) -> None:
        self.adapt = adapt
        self.cache: dict[Any, Any] = {}

    def __call__(self, value: Any) -> Any:
        found = self.cache.get(value)
        if found is None:
            if len(self.cache) > 10_000:
                self.cache.clear()
            found = self.cache[value] = self.adapt(value)
        return found


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _adapter(field: models.Field, vendor: str, alias: str) -> Callable[[Any], Any] | None:  # type: ignore[type-arg]
    connection = connections[alias]
    kind = field.get_internal_type()
    if kind in _IDENTITY_TYPES:
        return None  # the drivers adapt str, bool, int, Decimal (Django registers it on SQLite)
    if kind == "UUIDField":
        if connection.features.has_native_uuid_field:
            return None
        # Django stores UUIDs there as 32 hex digits; GUIDs arrive as BC's dashed text
        return lambda value: value.replace("-", "").lower() if isinstance(value, str) else value.hex
    if kind == "DateTimeField":
        adapt = connection.ops.adapt_datetimefield_value
        if vendor == "postgresql":
            return None  # psycopg adapts aware datetimes itself
        return _Memo(adapt)
    if kind == "DateField":
        return connection.ops.adapt_datefield_value
    if kind == "JSONField":
        if vendor == "postgresql":
            from psycopg.types.json import Jsonb

            return lambda value: Jsonb(value, dumps=_json_text)
        return _json_text
    return lambda value: field.get_db_prep_save(value, connection)


@functools.cache
def _statement(
    model: type[models.Model], unique: tuple[str, ...], keep: tuple[str, ...], alias: str
) -> tuple[str, tuple[str, ...], tuple[Any, ...]]:
    connection = connections[alias]
    quote = connection.ops.quote_name
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    names = tuple(f.attname for f in fields)
    by_name = {f.name: f for f in fields}
    conflict = ", ".join(quote(str(by_name[n].column)) for n in unique)
    updates = ", ".join(
        f"{quote(str(f.column))} = EXCLUDED.{quote(str(f.column))}"
        for f in fields
        if f.name not in unique and f.name not in keep
    )
    placeholders = f"({', '.join(['%s'] * len(fields))})"
    # identifiers come from the model's metadata (quoted), values are bound parameters
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(str(f.column)) for f in fields)}) "  # noqa: S608
        f"VALUES {placeholders} ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
    )
    adapters = tuple(_adapter(f, connection.vendor, alias) for f in fields)
    return sql, names, adapters


def upsert_rows(
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    unique: Sequence[str],
    keep: Sequence[str] = (),
    returning: str | None = None,
) -> list[tuple[Any, Any]] | None:
    """Insert ``rows`` (``{attname: value}``, every concrete column but the primary key), or
    update the row with the same ``unique`` fields, leaving ``keep`` fields as they were.

    Returns:
        With ``returning`` (an attname) on PostgreSQL, ``(pk, value)`` of every written row;
        else ``None`` (SQLite's ``executemany`` returns no rows: select them).

    Raises:
        django.db.Error: from the database, e.g. a row violating another constraint.
    """
    if not rows:
        return [] if returning else None
    alias = router.db_for_write(model)
    connection = connections[alias]
    sql, names, adapters = _statement(model, tuple(unique), tuple(keep), alias)
    # one C-level itemgetter per row, then only the columns that need adapting
    get = operator.itemgetter(*names)
    adapted = [(i, adapt) for i, adapt in enumerate(adapters) if adapt is not None]
    params = []
    for row in rows:
        values = list(get(row))
        for i, adapt in adapted:
            value = values[i]
            if value is not None:
                values[i] = adapt(value)
        params.append(values)
    if connection.vendor == "postgresql":
        return _copy_upsert(connection, model, sql, names, params, returning)
    with connection.cursor() as cursor:
        # SQLite runs executemany in C with no round trips
        cursor.executemany(sql, params)
    return None


def _copy_upsert(
    connection: Any,
    model: type[models.Model],
    sql: str,
    names: tuple[str, ...],
    params: list[list[Any]],
    returning: str | None,
) -> list[tuple[Any, Any]] | None:
    """PostgreSQL: ``COPY`` the rows into a temporary table, then one ``INSERT ... SELECT ...
    ON CONFLICT DO UPDATE``: several times faster than binding each row (COPY streams).
    The temporary table is created once per database session (``ON COMMIT DELETE ROWS``:
    emptied by each commit, so no catalog churn per page) and truncated after use, so a
    second upsert of the model in the same transaction starts empty too."""
    quote = connection.ops.quote_name
    columns = [str(getattr(model._meta.get_field(n), "column", n)) for n in _field_names(model, names)]
    column_list = ", ".join(quote(c) for c in columns)
    stage = quote(f"bcbridge_stage_{model._meta.db_table}")
    placeholders = f" VALUES ({', '.join(['%s'] * len(names))}) "
    upsert = sql.replace(placeholders, f" SELECT {column_list} FROM {stage} WHERE true ", 1)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "  # noqa: S608
            f"SELECT {column_list} FROM {quote(model._meta.db_table)} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY {stage} ({column_list}) FROM STDIN") as copy:
            for row in params:
                copy.write_row(row)
        column = {f.attname: str(f.column) for f in model._meta.concrete_fields}
        if returning:
            upsert += f" RETURNING {quote(column['id'])}, {quote(column[returning])}"
        cursor.execute(upsert)
        written = list(cursor.fetchall()) if returning else None
        cursor.execute(f"TRUNCATE {stage}")
    return written


def _field_names(model: type[models.Model], attnames: tuple[str, ...]) -> list[str]:
    by_attname = {f.attname: f.name for f in model._meta.concrete_fields}
    return [by_attname[a] for a in attnames]


def select_by_keys(
    model: type[models.Model], scope: dict[str, Any], key_attr: str, keys: Sequence[Any]
) -> list[tuple[Any, ...]]:
    """``(pk, key, etag, last_modified_date_time, deleted)`` of the rows in ``scope``
    (``{attname: value}``) whose ``key_attr`` is one of ``keys``, in one raw query per
    chunk (``key`` is the caller's own object from ``keys``; on SQLite the timestamp comes as
    the driver gives it: pass it through :func:`aware` before comparing).

    PostgreSQL matches ``= ANY(array)``: one parameter, where ``IN (...)`` would need one per
    key; SQLite gets ``IN (...)`` in chunks well under its 32,766 variables. Raw SQL skips
    the ORM's per-row lookup preparation and converters, a large share of a page's cost.
    """
    if not keys:
        return []
    alias = router.db_for_read(model)
    connection = connections[alias]
    quote = connection.ops.quote_name
    fields = {f.attname: f for f in model._meta.concrete_fields}
    column = {name: str(f.column) for name, f in fields.items()}
    where = " AND ".join(f"{quote(column[name])} = %s" for name in scope)
    adapt_scope = [
        value if (adapt := _adapter(fields[name], connection.vendor, alias)) is None else adapt(value)
        for name, value in scope.items()
    ]
    wanted = ", ".join(quote(column[name]) for name in ("id", key_attr, "etag", "last_modified_date_time", "deleted"))
    table = quote(model._meta.db_table)
    rows: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = f"SELECT {wanted} FROM {table} WHERE {where} AND {quote(column[key_attr])} = ANY(%s)"  # noqa: S608
            cursor.execute(sql, [*adapt_scope, list(keys)])
            return list(cursor.fetchall())
        adapt_key = _adapter(fields[key_attr], connection.vendor, alias) or (lambda value: value)
        originals = {adapt_key(key): key for key in keys}
        stored = list(originals)
        for start in range(0, len(stored), 5000):
            chunk = stored[start : start + 5000]
            marks = ", ".join(["%s"] * len(chunk))
            sql = f"SELECT {wanted} FROM {table} WHERE {where} AND {quote(column[key_attr])} IN ({marks})"  # noqa: S608
            cursor.execute(sql, [*adapt_scope, *chunk])
            for pk, key, etag, modified, deleted in cursor.fetchall():
                rows.append((pk, originals.get(key, key), etag, modified, bool(deleted)))
    return rows


def aware(value: Any) -> Any:
    """SQLite's datetime (text, or naive from the driver's converter) as the aware UTC
    datetime the ORM returns (Django stores UTC there, USE_TZ)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if isinstance(moment, datetime) and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment
