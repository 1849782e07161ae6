"""The per-set lock (a lease on the :class:`~bcbridge.models.SyncState` row) and worker ids.

A lease is taken with one conditional ``UPDATE ... WHERE locked_until IS NULL OR
locked_until < now OR locked_by = me``: the database serialises concurrent updates of a
row, so exactly one worker wins, on PostgreSQL across machines and on SQLite across
processes, with no long-held transaction. The holder renews it on every page (a heartbeat);
a worker that dies loses it when the short lease (``SYNC_LOCK_LEASE``, 60 s) expires, and at
once when it ran on this host: the holder id is ``host:pid:random``, so a worker on the same
host sees that the holder's process is gone and takes the set over. Taking a set over marks
the dead holder's ``running`` :class:`~bcbridge.models.SyncRun` as ``abandoned``.
:func:`unlock` (``bcbridge unlock``, the admin's "release the lock") frees a set by hand.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from bcbridge.conf import get_settings
from bcbridge.models import Company, SyncRun, SyncState

__all__ = ["LockLost", "acquire", "holder_is_dead", "release", "renew", "state_for", "unlock", "worker_id"]


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


def holder_is_dead(holder: str) -> bool:
    """True when ``holder`` (``host:pid:random``) ran on this host and its process is gone.

    A holder on another host, or whose id does not parse, is presumed alive (its lease
    expiring is the only sign of its death there).
    """
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # another thread of this process: alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, owned by someone else
        return False
    return False


def _abandon(state: SyncState, holder: str, now: datetime, why: str) -> int:
    """Mark ``holder``'s running runs of the set ``abandoned``; returns how many."""
    if not holder:
        return 0
    return SyncRun.objects.filter(
        company_id=state.company_id,
        api=state.api,
        entity_set=state.entity_set,
        worker=holder,
        status=SyncRun.Status.RUNNING,
    ).update(status=SyncRun.Status.ABANDONED, finished_at=now, error=why[:2000])


def acquire(state: SyncState, worker: str) -> bool:
    """Take the set's lease for ``worker``; False when another (live) worker holds it.

    The lease is free when never taken, released, expired, already ``worker``'s, or held by
    a dead process of this host; the previous holder's running runs become ``abandoned``.
    """
    now = timezone.now()
    previous, until = SyncState.objects.filter(pk=state.pk).values_list("locked_by", "locked_until").get()
    free = Q(locked_until__isnull=True) | Q(locked_until__lt=now) | Q(locked_by=worker)
    dead = bool(previous) and previous != worker and holder_is_dead(previous)
    if dead:
        free |= Q(locked_by=previous)  # compare-and-set on the dead holder's id
    taken = (
        SyncState.objects.filter(pk=state.pk)
        .filter(free)
        .update(locked_by=worker, locked_until=_until(now), last_attempt_at=now)
    )
    state.refresh_from_db()
    if taken == 1 and previous and previous != worker:
        why = "its process is gone" if dead else f"its lock expired at {until:%H:%M:%S} UTC" if until else "released"
        _abandon(state, previous, now, f"abandoned: {previous} stopped renewing the lock ({why}); {worker} took over")
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


def unlock(states: object, *, by: str = "an operator") -> list[tuple[SyncState, str]]:
    """Release the locks of ``states`` (a queryset or iterable of :class:`SyncState`)
    whoever holds them, and mark the holders' running runs ``abandoned``.

    Returns:
        ``(state, previous holder)`` for each state that was locked.

    A live holder notices on its next page (:class:`LockLost`) and stops without writing it.
    """
    released = []
    now = timezone.now()
    for state in list(states):  # type: ignore[call-overload]
        holder = state.locked_by
        if not holder:
            continue
        if SyncState.objects.filter(pk=state.pk, locked_by=holder).update(locked_by="", locked_until=None):
            _abandon(state, holder, now, f"abandoned: the lock was released by {by}")
            state.locked_by, state.locked_until = "", None
            released.append((state, holder))
    return released
