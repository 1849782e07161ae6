"""Every periodic job of bcbridge, registered with the runner: import this module to get them.

=========================  ========  =========================================================
job                        every     what
=========================  ========  =========================================================
``sync``                   5 s       polls that are due (:func:`bcbridge.sync.engine.sync_due`)
``webhooks``               1 h       subscribe, renew, recreate, unsubscribe (:mod:`bcbridge.sync.webhooks`)
``webhook-deliveries``     1 s       queued notifications (:func:`bcbridge.sync.notifications.process_pending`)
``outbox``                 2 s       due outbox messages (:func:`bcbridge.push.dispatch_due`)
``request-log-retention``  1 h       request-log rows older than ``REQUEST_LOG_RETENTION_DAYS``
``event-deliveries``       1 s       signed events to subscribers (:func:`bcbridge.events.delivery.deliver_due`)
``event-retention``        1 h       finished events older than 30 days (:func:`bcbridge.events.delivery.prune`)
=========================  ========  =========================================================

The same plain functions are what a Celery beat schedule would call (see ``bcbridge.tasks``).
"""

from __future__ import annotations

import bcbridge.sync.webhooks  # noqa: F401  registers "webhooks" and "webhook-deliveries"
from bcbridge.conf import get_settings
from bcbridge.events import delivery as event_delivery
from bcbridge.models import RequestLog
from bcbridge.push import dispatch_due
from bcbridge.runner import jobs, register

__all__ = ["jobs"]


def _outbox(worker: str) -> str:
    result = dispatch_due()
    return f"{result.sent} sent, {result.retried} retried, {result.parked} parked"


def _request_log_retention(worker: str) -> int:
    return RequestLog.prune(get_settings().REQUEST_LOG_RETENTION_DAYS)


register("outbox", 2.0, _outbox)
register("request-log-retention", 3600.0, _request_log_retention)
register("event-deliveries", 1.0, lambda worker: str(event_delivery.deliver_due(worker)))
register("event-retention", 3600.0, lambda worker: event_delivery.prune())
