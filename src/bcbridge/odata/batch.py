"""OData JSON ``$batch``: many operations in one HTTP request.

``POST {api root}/$batch`` with ``{"requests": [{"id", "method", "url", "headers", "body"}]}``;
``url`` is relative to the API root; BC takes at most 100 operations per batch and answers
``{"responses": [{"id", "status", "headers", "body"}]}`` (docs/bc/2-urls.md §2.6, DOCS
``webservices/use-odata-batch.md``). ``atomicityGroup`` and ``dependsOn`` are standard OData
JSON batch fields, UNVERIFIED for BC; ``Isolation: snapshot`` runs the whole batch in one
transaction (BC >= 17.1).

:class:`BatchRequest` collects operations and splits them into chunks of at most 100 without
splitting an atomicity group or a ``dependsOn`` chain; :func:`send_batch` posts each chunk and
maps every answer back to its operation by id. Inner error answers become the same
:class:`~bcbridge.exceptions.BCAPIError` subclasses as direct calls.

Inner header names are sent in lower case: HTTP header names are case-insensitive (RFC 9110
§5.1) and BC accepts either, but some OData servers (SAP CAP) read only lower-case names
inside a JSON batch. The requests of an atomicity group "either all succeed or all fail"
(OData JSON Format 4.01 §19.1); when one fails the server rolls the others back, so every
member is reported failed (:attr:`BatchResult.rolled_back`) whatever status it was given.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from bcbridge.exceptions import BCAPIError, ServerError
from bcbridge.http import api_error

if TYPE_CHECKING:
    from bcbridge.http import BCClient

__all__ = ["MAX_BATCH", "BatchOperation", "BatchRequest", "BatchResult", "send_batch"]

#: BC's limit of operations per ``$batch`` (operational limits, docs/bc/0-quick-reference.md §0).
MAX_BATCH = 100


@dataclass(frozen=True)
class BatchOperation:
    """One request inside a batch.

    Attributes:
        id: Unique within the batch (``"1"``, ``"2"``, ...).
        method: HTTP method.
        url: Relative to the API root, e.g. ``companies({id})/items({id})``.
        body: JSON body or ``None``.
        headers: Inner headers (``If-Match``, ``Content-Type``, ``Company``, ...).
        atomicity_group: Operations with the same group succeed or fail together.
        depends_on: Ids of operations that must run first (same chunk).
    """

    id: str
    method: str
    url: str
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    atomicity_group: str | None = None
    depends_on: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The operation as an element of ``requests``."""
        item: dict[str, Any] = {"id": self.id, "method": self.method, "url": self.url}
        headers = {name.lower(): value for name, value in self.headers.items()}
        if self.body is not None:
            headers.setdefault("content-type", "application/json")
            item["body"] = self.body
        if headers:
            item["headers"] = headers
        if self.atomicity_group is not None:
            item["atomicityGroup"] = self.atomicity_group
        if self.depends_on:
            item["dependsOn"] = list(self.depends_on)
        return item


@dataclass(frozen=True)
class BatchResult:
    """The answer to one :class:`BatchOperation`.

    Attributes:
        operation: The request it answers.
        status: Inner HTTP status.
        headers: Inner headers (lower-case names).
        body: Decoded JSON body, or ``None`` (204, or no answer of its own).
        error: The :class:`BCAPIError` for a status >= 400; for a member rolled back with
            its atomicity group, the error of the member that failed.
        rolled_back: True when another member of the atomicity group failed, so this
            operation's effect was undone (its own status may say 2xx, or it may have no
            answer of its own, then ``status`` is the failed member's).
    """

    operation: BatchOperation
    status: int
    headers: Mapping[str, str]
    body: Any
    error: BCAPIError | None = None
    rolled_back: bool = False

    @property
    def ok(self) -> bool:
        """True for a status below 400 that was not rolled back with its atomicity group."""
        return self.error is None

    def value(self) -> Any:
        """The body, or raise the inner error.

        Raises:
            BCAPIError: The mapped subclass (e.g. ``ConcurrencyConflict``) for an error answer.
        """
        if self.error is not None:
            raise self.error
        return self.body


class BatchRequest:
    """Builder of a ``$batch``: add operations, then :func:`send_batch`.

    Example::

        batch = BatchRequest()
        with batch.atomic():
            batch.post(f"companies({cid})/salesOrders", order)
            batch.patch(f"companies({cid})/items({iid})", {"unitPrice": 9}, etag=etag)
        results = send_batch(client, batch)
    """

    def __init__(self) -> None:
        self.operations: list[BatchOperation] = []
        self._ids = itertools.count(1)
        self._groups = itertools.count(1)
        self._group: str | None = None

    def __len__(self) -> int:
        return len(self.operations)

    def add(
        self,
        method: str,
        url: str,
        body: Any = None,
        *,
        etag: str | None = None,
        headers: Mapping[str, str] | None = None,
        id: str | None = None,
        depends_on: tuple[str, ...] | list[str] = (),
    ) -> str:
        """Add an operation and return its id.

        Args:
            method: HTTP method.
            url: Relative to the API root (no leading ``/``, no host).
            body: JSON body.
            etag: ``If-Match`` value (PATCH/DELETE need one, docs/bc/4-concurrency.md §4).
            headers: Inner headers.
            id: Own id; default the next number.
            depends_on: Ids that must run before this one.

        Raises:
            ValueError: Duplicate id, unknown ``depends_on`` id, or an absolute URL.
        """
        op_id = str(id) if id is not None else str(next(self._ids))
        depends_on = tuple(str(d) for d in depends_on)
        if any(op.id == op_id for op in self.operations):
            raise ValueError(f"duplicate batch operation id {op_id!r}")
        known = {op.id for op in self.operations}
        missing = [d for d in depends_on if d not in known]
        if missing:
            raise ValueError(f"dependsOn names unknown operations {missing}")
        if "://" in url or url.startswith("/"):
            raise ValueError(f"batch URLs are relative to the API root, not {url!r}")
        inner = dict(headers or {})
        if etag is not None:
            inner["If-Match"] = etag
        self.operations.append(BatchOperation(op_id, method.upper(), url, body, inner, self._group, depends_on))
        return op_id

    def get(self, url: str, **kwargs: Any) -> str:
        """Add a GET."""
        return self.add("GET", url, **kwargs)

    def post(self, url: str, body: Any, **kwargs: Any) -> str:
        """Add a POST."""
        return self.add("POST", url, body, **kwargs)

    def patch(self, url: str, body: Any, etag: str, **kwargs: Any) -> str:
        """Add a PATCH with ``If-Match``."""
        return self.add("PATCH", url, body, etag=etag, **kwargs)

    def delete(self, url: str, etag: str, **kwargs: Any) -> str:
        """Add a DELETE with ``If-Match``."""
        return self.add("DELETE", url, etag=etag, **kwargs)

    @contextmanager
    def atomic(self) -> Iterator[str]:
        """Operations added inside share one ``atomicityGroup`` (yielded)."""
        if self._group is not None:
            raise ValueError("atomicity groups do not nest")
        self._group = f"g{next(self._groups)}"
        try:
            yield self._group
        finally:
            self._group = None

    def chunks(self, size: int = MAX_BATCH) -> list[list[BatchOperation]]:
        """Split into batches of at most ``size`` operations, in order.

        An atomicity group and a ``dependsOn`` chain always stay in one chunk (BC cannot
        refer across batches).

        Raises:
            ValueError: A group or chain is larger than ``size``.
        """
        if not 1 <= size <= MAX_BATCH:
            raise ValueError(f"chunk size must be 1..{MAX_BATCH}")
        # Union the operations that must travel together into units, keeping order.
        unit_of: dict[str, int] = {}
        units: list[list[BatchOperation]] = []
        group_unit: dict[str, int] = {}
        for op in self.operations:
            joined = {unit_of[d] for d in op.depends_on}
            if op.atomicity_group in group_unit:
                joined.add(group_unit[op.atomicity_group])
            if joined:
                target = min(joined)
                for other in sorted(joined - {target}):
                    for moved in units[other]:
                        unit_of[moved.id] = target
                    units[target].extend(units[other])
                    units[other] = []
                    for name, index in group_unit.items():
                        if index == other:
                            group_unit[name] = target
            else:
                target = len(units)
                units.append([])
            units[target].append(op)
            unit_of[op.id] = target
            if op.atomicity_group is not None:
                group_unit[op.atomicity_group] = target
        position = {op.id: n for n, op in enumerate(self.operations)}
        chunks: list[list[BatchOperation]] = []
        for unit in units:
            if not unit:
                continue
            if len(unit) > size:
                raise ValueError(
                    f"{len(unit)} operations must travel together (atomicity group or "
                    f"dependsOn), more than one batch of {size} holds"
                )
            if not chunks or len(chunks[-1]) + len(unit) > size:
                chunks.append([])
            chunks[-1].extend(sorted(unit, key=lambda op: position[op.id]))
        return chunks


def send_batch(
    client: BCClient,
    batch: BatchRequest,
    url: str = "$batch",
    *,
    isolation: str | None = None,
    chunk_size: int = MAX_BATCH,
) -> list[BatchResult]:
    """Send a batch in chunks of at most ``chunk_size`` and return results in request order.

    Args:
        client: Its ``base_url`` should be the API root, so that ``$batch`` and the inner
            relative URLs resolve (or pass the absolute ``url`` of ``$batch``).
        batch: The operations.
        url: The ``$batch`` URL.
        isolation: ``"snapshot"`` sends ``Isolation: snapshot`` (one transaction per chunk).
        chunk_size: Operations per HTTP request (BC max 100).

    Raises:
        BCAPIError, TransportError: The ``$batch`` request itself failed.
        ServerError: The answer is not a JSON batch answer or lacks an operation's answer.
    """
    headers = {"Isolation": isolation} if isolation else None
    results: list[BatchResult] = []
    for chunk in batch.chunks(chunk_size):
        payload = {"requests": [op.to_json() for op in chunk]}
        # Repeating a batch of reads is harmless; a batch with writes is a write.
        reads_only = all(op.method == "GET" for op in chunk)
        response = client.request("POST", url, json=payload, headers=headers, idempotent=reads_only)
        outer_id = response.request.headers.get("client-request-id", "")
        results.extend(_map_responses(chunk, response.content, str(response.url), outer_id))
    return results


def _map_responses(chunk: list[BatchOperation], content: bytes, url: str, request_id: str) -> list[BatchResult]:
    try:
        answer = orjson.loads(content)
        responses = answer["responses"]
        if not isinstance(responses, list):
            raise TypeError("responses is not a list")
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise ServerError(
            f"not a JSON batch answer: {exc}",
            status=200,
            method="POST",
            url=url,
            request_id=request_id,
        ) from exc
    by_id = {str(r.get("id")): r for r in responses if isinstance(r, dict) and r.get("id") is not None}
    if not by_id and len(responses) == len(chunk):
        # BC echoes id null when the request had none; we always send ids, but if an
        # answer comes without them the order is the only key left.
        by_id = {op.id: r for op, r in zip(chunk, responses, strict=True)}
    failed_groups = _failed_groups(chunk, by_id, content_url=url, request_id=request_id)
    results = []
    for op in chunk:
        item = by_id.get(op.id)
        if item is None and op.atomicity_group in failed_groups:
            cause = failed_groups[op.atomicity_group]
            results.append(BatchResult(op, cause.status, {}, None, cause.error, rolled_back=True))
            continue
        if item is None:
            raise ServerError(
                f"the batch answer has no response for operation {op.id!r}",
                status=200,
                method=op.method,
                url=op.url,
                request_id=request_id,
            )
        status = int(item.get("status", 0))
        headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
        body = item.get("body")
        error = None
        if status >= 400 or status < 100:
            error = api_error(
                status if status >= 100 else 500,
                body,
                method=op.method,
                url=op.url,
                # Inner answers have no id of their own: the $batch request's id finds them.
                request_id=headers.get("client-request-id") or request_id,
            )
        if error is None and op.atomicity_group in failed_groups:
            cause = failed_groups[op.atomicity_group]
            results.append(BatchResult(op, status, headers, body, cause.error, rolled_back=True))
            continue
        results.append(BatchResult(op, status, headers, body, error))
    return results


@dataclass(frozen=True)
class _Failure:
    status: int
    error: BCAPIError


def _failed_groups(
    chunk: list[BatchOperation], by_id: dict[str, Any], *, content_url: str, request_id: str
) -> dict[str, _Failure]:
    """The first failed member of each atomicity group that has one, by group name."""
    failed: dict[str, _Failure] = {}
    for op in chunk:
        item = by_id.get(op.id)
        if op.atomicity_group is None or op.atomicity_group in failed or item is None:
            continue
        status = int(item.get("status", 0))
        if status >= 400 or status < 100:
            headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
            error = api_error(
                status if status >= 100 else 500,
                item.get("body"),
                method=op.method,
                url=op.url,
                request_id=headers.get("client-request-id") or request_id,
            )
            failed[op.atomicity_group] = _Failure(status if status >= 100 else 500, error)
    return failed
