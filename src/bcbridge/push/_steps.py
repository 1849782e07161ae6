"""What each outbox operation does in BC: plan the write, apply its answer, recover, finish.

The dispatcher drives every message through :func:`plan` (reads allowed, e.g. resolving
ids or looking for an earlier attempt; returns the one write to send, or ``None`` when
nothing is left to write), sends the write directly or inside a ``$batch``, then calls
:func:`applied` with BC's answer or :func:`recover` with the error, and finally
:func:`finish` for follow-up steps (bound actions after a create). Progress is kept in
``message.state`` so a retry resumes where the last attempt stopped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bcbridge.exceptions import ConcurrencyConflict, FatalError, NotFound, RetriableError
from bcbridge.models import OutboxMessage, OutboxOperation
from bcbridge.odata import BatchRequest, F, send_batch
from bcbridge.push import orders
from bcbridge.push.mapping import remember_external_id

if TYPE_CHECKING:
    from bcbridge.entities import BC, EntitySetClient

__all__ = [
    "Job",
    "LeaseLost",
    "OutcomeUnknown",
    "Parked",
    "Write",
    "applied",
    "finish",
    "plan",
    "recover",
    "send",
]


class LeaseLost(Exception):
    """Another dispatcher took the message over (our lease expired): nothing was sent and
    nothing is recorded; the new holder carries on."""


class OutcomeUnknown(FatalError):
    """An earlier attempt may have reached BC and nothing can tell: a person must check."""


class Parked(FatalError):
    """A conflict or rule that needs a person (the message says which fields)."""


class ConflictAgain(RetriableError):
    """BC changed the record again while we re-applied: try later."""


@dataclass
class Write:
    """One write request: ``url`` is absolute; ``api`` is the route, for ``$batch`` grouping."""

    method: str
    url: str
    body: Any = None
    etag: str | None = None
    api: dict[str, str] = field(default_factory=dict)
    batchable: bool = True


def _no_fence() -> None:
    return None


@dataclass
class Job:
    """A claimed message on its way; ``writing`` is True while a write may be in BC's hands.

    ``fence()`` is called right before every write: it renews the claim's lease and raises
    :class:`LeaseLost` when the claim is no longer ours (compare-and-set on ``token``).
    """

    message: OutboxMessage
    token: Any
    writing: bool = False
    fence: Callable[[], None] = _no_fence


def _records(bc: BC, message: OutboxMessage, entity_set: str | None = None) -> EntitySetClient:
    return bc.company(message.company_id).entity_set(entity_set or message.entity_set, **message.api)


def _adopt(message: OutboxMessage, entity: dict[str, Any] | None, **state: Any) -> None:
    message.state = {**message.state, "written": True, **state}
    message.outcome_unknown = False
    if entity:
        message.bc_id = str(entity.get("id", message.bc_id or ""))
        message.bc_number = str(entity.get("number", message.bc_number or ""))[:50]
        message.bc_etag = str(entity.get("@odata.etag", ""))[:255]
        message.result = entity


def _find(records: EntitySetClient, lookup: dict[str, Any]) -> dict[str, Any] | None:
    condition = None
    for name, value in lookup.items():
        term = F(name) == value
        condition = term if condition is None else condition & term
    for record in records.list(filter=condition, top=2):
        return dict(record)
    return None


def plan(bc: BC, job: Job) -> Write | None:
    """The write this message still needs, or ``None`` (already written, adopted, or done
    by a direct call here: registry calls and batch messages).

    Raises:
        OutcomeUnknown: A create whose earlier outcome is unknown and which has no lookup.
        MappingError: An id cannot be resolved.
        BCAPIError, TransportError: From the reads (or the direct writes).
    """
    message = job.message
    if message.state.get("written"):
        return None
    op = message.operation
    if op in (OutboxOperation.CREATE, OutboxOperation.SALES_ORDER):
        records = _records(bc, message)
        if message.outcome_unknown:
            if not message.lookup:
                raise OutcomeUnknown(
                    "An earlier attempt may have created this record and the message has no lookup fields to "
                    "find it: check BC, then use 'retry now (earlier attempt not in BC)'."
                )
            found = _find(records, message.lookup)
            if found is None and op == OutboxOperation.SALES_ORDER:
                # A user may have posted the order since: it lives on as a sales invoice.
                invoice = _find(_records(bc, message, "salesInvoices"), message.lookup)
                if invoice is not None:
                    _adopt(
                        message,
                        None,
                        adopted="salesInvoices",
                        invoice_id=invoice["id"],
                        actions_done=message.payload.get("actions", []),
                    )
                    message.result = invoice
                    return None
            if found is not None:
                _adopt(message, found, adopted=True)
                return None
        # Rebuilding is cheap on retries: resolved ids are in the external-id map by then.
        body = orders.build_order(bc, message) if op == OutboxOperation.SALES_ORDER else message.payload
        return Write("POST", records.url, body, api=message.api)
    if op == OutboxOperation.UPDATE:
        records = _records(bc, message)
        etag = message.etag or records.get(message.key)["@odata.etag"]
        return Write("PATCH", records.record_url(message.key), message.payload, etag, message.api)
    if op == OutboxOperation.DELETE:
        records = _records(bc, message)
        try:
            etag = message.etag or records.get(message.key)["@odata.etag"]
        except NotFound:
            _adopt(message, None, gone=True)
            return None
        return Write("DELETE", records.record_url(message.key), None, etag, message.api)
    if op == OutboxOperation.ACTION:
        url = bc.urls.bound_action(message.company_id, message.entity_set, message.key, message.action, **message.api)
        return Write("POST", url, None, api=message.api)
    if op == OutboxOperation.CALL:
        job.fence()
        job.writing = True
        payload = message.payload or {}
        result = bc.call(
            message.action,
            payload.get("body"),
            company=message.company_id,
            etag=message.etag or None,
            **payload.get("values", {}),
        )
        _adopt(message, result if isinstance(result, dict) else None)
        message.result = result
        return None
    if op == OutboxOperation.BATCH:
        _run_batch_message(bc, job)
        return None
    raise FatalError(f"unknown outbox operation {op!r}")


def send(bc: BC, write: Write) -> Any:
    """Send one write directly; returns BC's JSON answer (``None`` for 204)."""
    if write.method == "POST":
        return bc.client.post_json(write.url, write.body)
    if write.method == "PATCH":
        return bc.client.patch_json(write.url, write.body, write.etag or "*")
    bc.client.delete(write.url, write.etag or "*")
    return None


def applied(bc: BC, job: Job, answer: Any) -> None:
    """Record BC's successful answer to the planned write in the message."""
    _adopt(job.message, answer if isinstance(answer, dict) else None)


def recover(bc: BC, job: Job, error: Exception) -> bool:
    """Handle an error the operation itself can resolve; True when the message is done.

    * update, 409: per :class:`~bcbridge.models.ConflictPolicy`: ``park`` parks; ``merge``
      re-reads and re-applies unless BC changed one of the fields we change (then parks,
      naming them); ``reapply`` re-reads and re-applies (ours win field by field).
    * delete, 404 or 409: gone already is done; a changed record is deleted with its new ETag.
    * action or registry call after an unknown outcome, 404: the record is gone, as the
      earlier attempt's action (post, shipAndInvoice) leaves it, so it counts as done.

    Raises:
        Parked: A real conflict (merge policy).
        ConflictAgain: BC changed the record again meanwhile.
    """
    message = job.message
    op = message.operation
    if op == OutboxOperation.UPDATE and isinstance(error, ConcurrencyConflict):
        if message.conflict_policy == "park":
            return False
        records = _records(bc, message)
        current = records.get(message.key)
        changes = message.payload
        if all(current.get(name) == value for name, value in changes.items()):
            _adopt(message, current, already=True)
            return True
        if message.conflict_policy == "merge" and message.original:
            clashing = sorted(
                name
                for name, value in changes.items()
                if name in message.original and current.get(name) not in (message.original[name], value)
            )
            if clashing:
                detail = ", ".join(f"{n}: ours {changes[n]!r}, BC now {current.get(n)!r}" for n in clashing)
                raise Parked(f"409 conflict: BC changed the fields we change ({detail}); policy merge parks it.")
        job.fence()
        try:
            answer = records.update(message.key, changes, etag=current["@odata.etag"])
        except ConcurrencyConflict as again:
            raise ConflictAgain(f"BC changed the record again while re-applying: {again.message}") from again
        _adopt(message, answer, reapplied=True)
        return True
    if op == OutboxOperation.DELETE and isinstance(error, NotFound):
        _adopt(message, None, gone=True)
        return True
    if op == OutboxOperation.DELETE and isinstance(error, ConcurrencyConflict) and message.conflict_policy != "park":
        records = _records(bc, message)
        with contextlib.suppress(NotFound):
            etag = records.get(message.key)["@odata.etag"]
            job.fence()
            records.delete(message.key, etag=etag)
        _adopt(message, None, deleted_after_conflict=True)
        return True
    if op in (OutboxOperation.ACTION, OutboxOperation.CALL) and message.outcome_unknown and isinstance(error, NotFound):
        _adopt(message, None, gone_after_unknown_outcome=True)
        return True
    return False


def finish(bc: BC, job: Job) -> None:
    """Follow-up steps after the write: a sales order's map entry and actions."""
    message = job.message
    if message.operation != OutboxOperation.SALES_ORDER or message.state.get("adopted") == "salesInvoices":
        return
    payload = message.payload
    if message.bc_id and not message.state.get("mapped"):
        remember_external_id(
            message.connection,
            message.company_id,
            payload["system"],
            "salesOrders",
            payload["external_document_number"],
            message.bc_id,
            message.bc_number,
        )
        message.state = {**message.state, "mapped": True}
    done = list(message.state.get("actions_done", []))
    records = _records(bc, message)
    for action in payload.get("actions", []):
        if action in done:
            continue
        job.fence()
        job.writing = True
        try:
            records.action(message.bc_id, action)
        except NotFound:
            if not message.outcome_unknown:
                raise
        job.writing = False
        message.outcome_unknown = False
        done.append(action)
        message.state = {**message.state, "actions_done": done}


def _run_batch_message(bc: BC, job: Job) -> None:
    """A ``batch`` message: its operations in ``$batch`` requests (atomic: one transaction)."""
    message = job.message
    operations = message.payload.get("operations", [])
    done: dict[str, Any] = dict(message.state.get("done", {}))
    if message.outcome_unknown and any(op.get("method", "").upper() == "POST" for op in operations):
        raise OutcomeUnknown("An earlier attempt of this batch may have reached BC: check BC, then retry it.")
    batch = BatchRequest()
    root = bc.urls.api_root(**message.api) + "/"
    pending = [(str(i), op) for i, op in enumerate(operations) if str(i) not in done]

    def add_all() -> None:
        for index, op in pending:
            url = op.get("url") or _relative(bc, message, op, root)
            batch.add(op["method"], url, op.get("body"), etag=op.get("etag"), id=index)

    if message.atomic:
        with batch.atomic():
            add_all()
    else:
        add_all()
    job.fence()
    job.writing = True
    results = send_batch(
        bc.client, batch, bc.urls.batch(**message.api), isolation="snapshot" if message.atomic else None
    )
    first_error = None
    for result in results:
        if result.ok:
            done[result.operation.id] = result.body
        elif first_error is None:
            first_error = result.error
    if message.atomic and first_error is not None:
        done = {}
    message.state = {**message.state, "done": done}
    if first_error is not None:
        raise first_error
    _adopt(message, None)
    message.result = [done.get(str(i)) for i in range(len(operations))]


def _relative(bc: BC, message: OutboxMessage, op: dict[str, Any], root: str) -> str:
    records = _records(bc, message, op["entity_set"])
    url = records.record_url(op["key"]) if op.get("key") else records.url
    if op.get("action"):
        url = bc.urls.bound_action(message.company_id, op["entity_set"], op["key"], op["action"], **message.api)
    return url[len(root) :] if url.startswith(root) else url
