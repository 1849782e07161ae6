"""Push to BC: the transactional outbox, sales orders, mappings, ``$batch`` and warehouse.

Every write from bcbridge to BC goes through the outbox: :func:`enqueue` (or
:func:`sales_order`, :func:`enqueue_call`) stores a message in the caller's transaction;
:func:`dispatch_due` (run by ``bcbridge run``, ``bcbridge push`` or a Celery task) sends due
messages exactly once, retries transient failures with back-off, and parks permanent ones
with BC's message. See :mod:`bcbridge.push.dispatch` for the rules.
"""

from __future__ import annotations

from bcbridge.push.dispatch import DispatchPolicy, DispatchResult, classify, dispatch_due, drain
from bcbridge.push.mapping import MappingError, apply_mappings, remember_external_id, resolve_external_id
from bcbridge.push.orders import sales_order, sales_order_from_dict
from bcbridge.push.outbox import cancel, enqueue, enqueue_call, outbox_counts, retry_now

__all__ = [
    "DispatchPolicy",
    "DispatchResult",
    "MappingError",
    "apply_mappings",
    "cancel",
    "classify",
    "dispatch_due",
    "drain",
    "enqueue",
    "enqueue_call",
    "outbox_counts",
    "remember_external_id",
    "resolve_external_id",
    "retry_now",
    "sales_order",
    "sales_order_from_dict",
]
