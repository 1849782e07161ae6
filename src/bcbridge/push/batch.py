"""Bulk pushes: the writes of many outbox messages in ``$batch`` requests.

Each message contributes its one planned write (a sales order is one deep insert), so 100
messages travel in one HTTP request (BC's maximum, docs/bc/2-urls.md §2.6 and §0). The messages are
independent: no ``atomicityGroup`` across them, so one invalid order is parked with BC's
inner error while the other 99 are created. A message that must be all-or-nothing is a
``batch`` message (``enqueue(..., "batch", payload={"operations": [...]}, atomic=True)``),
sent on its own with ``Isolation: snapshot`` and one atomicity group.

When the ``$batch`` request itself fails without an answer, every create in it is *outcome
unknown* and is looked up in BC before being sent again, as for single requests.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bcbridge.models import OutboxOperation
from bcbridge.odata import MAX_BATCH, BatchRequest, BatchResult, send_batch
from bcbridge.push import _steps
from bcbridge.push._steps import Job, Write

if TYPE_CHECKING:
    from bcbridge.entities import BC
    from bcbridge.push.dispatch import DispatchPolicy, DispatchResult

__all__ = ["process_batched"]

_DIRECT = (OutboxOperation.CALL, OutboxOperation.BATCH)


def process_batched(
    bc: BC,
    jobs: list[Job],
    policy: DispatchPolicy,
    now: datetime,
    result: DispatchResult,
    *,
    chunk_size: int = MAX_BATCH,
) -> None:
    """Plan every job, send the planned writes in ``$batch`` chunks, record each outcome.

    Registry calls and ``batch`` messages are sent directly; reads needed to plan (id
    resolution, looking for an earlier attempt) happen before the batch.
    """
    from bcbridge.push.dispatch import _complete, _handle, _process_direct

    planned: dict[tuple[tuple[str, str], ...], list[tuple[Job, Write]]] = {}
    for job in jobs:
        if job.message.operation in _DIRECT:
            _process_direct(bc, job, policy, now, result)
            continue
        holder: list[Write] = []

        def plan_step(job: Job = job, holder: list[Write] = holder) -> None:
            write = _steps.plan(bc, job)
            if write is None:
                _complete(bc, job, result)
            else:
                holder.append(write)

        _handle(bc, job, policy, now, result, plan_step)
        if holder:
            planned.setdefault(tuple(sorted(holder[0].api.items())), []).append((job, holder[0]))
    for route, items in planned.items():
        api = dict(route)
        root = bc.urls.api_root(**api) + "/"
        for start in range(0, len(items), chunk_size):
            chunk = items[start : start + chunk_size]
            _send_chunk(
                bc, chunk, api, root, lambda job, step: _handle(bc, job, policy, now, result, step), _complete, result
            )


def _send_chunk(
    bc: BC,
    chunk: list[tuple[Job, Write]],
    api: dict[str, str],
    root: str,
    handle: Callable[[Job, Callable[[], None]], None],
    complete: Callable[..., None],
    result: Any,
) -> None:
    from bcbridge.push.dispatch import LeaseLost

    batch = BatchRequest()
    jobs: dict[str, Job] = {}
    for job, write in chunk:
        try:
            job.fence()  # a message another dispatcher took over stays out of the batch
        except LeaseLost:
            result.lost_lease += 1
            continue
        op_id = str(job.message.pk)
        relative = write.url[len(root) :] if write.url.startswith(root) else write.url
        batch.add(write.method, relative, write.body, etag=write.etag, id=op_id)
        jobs[op_id] = job
        job.writing = True
    if not jobs:
        return
    try:
        answers = send_batch(bc.client, batch, bc.urls.batch(**api))
    except Exception as error:  # the whole request failed: every message gets the verdict
        failure = error
        for job in jobs.values():
            handle(job, _raiser(failure))
        return
    for answer in answers:
        job = jobs[answer.operation.id]
        handle(job, _outcome_step(bc, job, answer, complete, result))


def _raiser(error: BaseException) -> Callable[[], None]:
    def step() -> None:
        raise error

    return step


def _outcome_step(
    bc: BC, job: Job, answer: BatchResult, complete: Callable[..., None], result: Any
) -> Callable[[], None]:
    def step() -> None:
        if answer.error is not None:
            raise answer.error
        job.writing = False
        _steps.applied(bc, job, answer.body)
        complete(bc, job, result)

    return step
