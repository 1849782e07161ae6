"""The per-set lock (a lease on the :class:`~bcbridge.models.SyncState` row) and worker ids.

A lease is taken with one conditional ``UPDATE ... WHERE locked_until IS NULL OR
locked_until < now OR locked_by = me``: the database serialises concurrent updates of a
row, so exactly one worker wins, on PostgreSQL across machines and on SQLite across
processes, with no long-held transaction. The holder renews it on every page; a worker that
dies loses it when the lease (``SYNC_LOCK_LEASE``) expires.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from bcbridge.conf import get_settings
from bcbridge.models import Company, SyncState

__all__ = ["LockLost", "acquire", "release", "renew", "state_for", "worker_id"]


class LockLost(RuntimeError):
    """The lease expired and another worker took the set; this worker's page is rolled back."""


def worker_id() -> str:
    """``host:pid:random``, unique per call, so two threads of one process differ too."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def state_for(company: Company, entity_set: str, api: str = "") -> SyncState:
    state, _ = SyncState.objects.get_or_create(
        connection_id=company.connection_id, company=company, api=api, entity_set=entity_set
    )
    return state


def _until(now: datetime) -> datetime:
    return now + timedelta(seconds=get_settings().SYNC_LOCK_LEASE)


def acquire(state: SyncState, worker: str) -> bool:
    """Take the set's lease for ``worker``; False when another worker holds it."""
    now = timezone.now()
    taken = (
        SyncState.objects.filter(pk=state.pk)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now) | Q(locked_by=worker))
        .update(locked_by=worker, locked_until=_until(now), last_attempt_at=now)
    )
    state.refresh_from_db()
    return taken == 1


def renew(state: SyncState, worker: str, **changes: object) -> None:
    """Extend the lease and save ``changes`` (e.g. the watermark) in one fenced update.

    Raises:
        LockLost: ``worker`` no longer holds the lease.
    """
    now = timezone.now()
    if not SyncState.objects.filter(pk=state.pk, locked_by=worker).update(locked_until=_until(now), **changes):
        raise LockLost(f"lost the lock of {state.entity_set} of {state.company_id} to another worker")
    for name, value in changes.items():
        setattr(state, name, value)


def release(state: SyncState, worker: str, **changes: object) -> None:
    """Give the lease back (no-op when another worker has it) and save ``changes``."""
    SyncState.objects.filter(pk=state.pk, locked_by=worker).update(locked_by="", locked_until=None, **changes)
    for name, value in changes.items():
        setattr(state, name, value)
