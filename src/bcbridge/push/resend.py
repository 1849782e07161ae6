"""Send one outbox message to BC again, now ("Send this record to BC again").

The admin's action and ``bcbridge push --message ID`` call :func:`send_again`:

* a **parked** or **pending** message is made due and sent now (as "Retry now" plus a
  drain of its connection);
* a **sent update** (PATCH) is queued again as a new message with the same changes and no
  ETag, so the dispatcher reads BC's current ETag first (docs/bc/4-concurrency.md §4: ``If-Match`` with
  the record's ETag) - sending the same changes twice leaves BC as once;
* a **sent create, sales order, action, call, delete or batch** is refused: BC already has
  its effect (``bc_number`` says which record), and a second POST would make a second
  record - the duplicate the outbox exists to prevent.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from bcbridge.models import OutboxMessage, OutboxOperation, OutboxStatus
from bcbridge.push.dispatch import drain
from bcbridge.push.outbox import enqueue, retry_now

__all__ = ["Resend", "send_again"]


@dataclass
class Resend:
    """What :func:`send_again` did with one message.

    Attributes:
        message: The message sent (the new copy for a re-sent update).
        outcome: ``sent``, ``retry later``, ``parked`` or ``refused``.
        detail: One sentence for the user (BC's error, or why it was refused).
    """

    message: OutboxMessage
    outcome: str
    detail: str = ""

    def __str__(self) -> str:
        text = f"outbox message #{self.message.pk} ({self.message.operation} {self.message.entity_set}): {self.outcome}"
        return f"{text}; {self.detail}" if self.detail else text


def _copy_update(message: OutboxMessage) -> OutboxMessage:
    with transaction.atomic():
        return enqueue(
            message.connection,
            message.company_id,
            OutboxOperation.UPDATE,
            entity_set=message.entity_set,
            key=message.key,
            payload=message.payload,
            original=message.original,
            conflict_policy=message.conflict_policy,
        )


def send_again(message: OutboxMessage) -> Resend:
    """Send ``message`` (or, for a sent update, a copy of it) to BC now.

    Returns:
        :class:`Resend`; BC's refusals are recorded on the message as any dispatch does.
    """
    if message.status == OutboxStatus.SENT:
        if message.operation != OutboxOperation.UPDATE:
            where = f" (BC record {message.bc_number or message.bc_id})" if (message.bc_number or message.bc_id) else ""
            return Resend(
                message,
                "refused",
                f"it was sent{where}; sending a {message.get_operation_display()} again would do it twice in BC",
            )
        message = _copy_update(message)
    elif message.status in (OutboxStatus.PARKED, OutboxStatus.PENDING):
        retry_now([message])
    else:
        return Resend(message, "refused", f"it is {message.get_status_display()}; wait for it or look at it first")
    drain(connection=message.connection)
    message.refresh_from_db()
    if message.status == OutboxStatus.SENT:
        return Resend(message, "sent", f"BC record {message.bc_number or message.bc_id}".strip())
    if message.status == OutboxStatus.PARKED:
        return Resend(message, "parked", " ".join(message.last_error.split())[:200])
    return Resend(message, "retry later", " ".join(message.last_error.split())[:200])
