"""The embedded runner (``bcbridge run``): periodic jobs run in-process, state in the database.

A job is a plain function ``func(worker: str) -> object`` with an interval in seconds,
registered by name::

    from bcbridge.runner import register
    register("outbox", 5, dispatch_outbox)

Each job has a :class:`~bcbridge.models.RunnerJob` row (next run, last result, failures)
and is claimed with a lease (one conditional ``UPDATE``), so several runners, or Celery
beat calling the same functions, never run one job twice at once. SIGINT and SIGTERM stop
the loop after the job in progress; nothing is cut off half-way, because every job commits
its work in its own transactions (a sync page by page).

Built-in job: ``sync`` (every 5 s), which runs the polls that are due
(:func:`bcbridge.sync.engine.sync_due`; each entity set has its own poll interval).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, close_old_connections
from django.db.models import Q
from django.utils import timezone

from bcbridge.models import RunnerJob

__all__ = ["Job", "Runner", "jobs", "register", "unregister"]

logger = logging.getLogger("bcbridge.runner")


@dataclass(frozen=True)
class Job:
    """A periodic job: ``func(worker)`` every ``interval`` seconds."""

    name: str
    interval: float
    func: Callable[[str], Any]


_jobs: dict[str, Job] = {}


def register(name: str, interval: float, func: Callable[[str], Any]) -> Job:
    """Add (or replace) the job ``name``; returns it."""
    if interval <= 0:
        raise ValueError("interval must be positive seconds")
    job = Job(name, float(interval), func)
    _jobs[name] = job
    return job


def unregister(name: str) -> None:
    _jobs.pop(name, None)


def jobs() -> dict[str, Job]:
    """The registered jobs by name."""
    return dict(_jobs)


def _sync_job(worker: str) -> int:
    from bcbridge.sync.engine import sync_due

    return len(sync_due(worker=worker))


register("sync", 5.0, _sync_job)


class Runner:
    """Runs due jobs until stopped.

    Args:
        worker: This runner's id (lease holder), e.g. ``host:pid``.
        names: Only these jobs (default: every registered one).
        tick: Seconds between looks at the schedule.
    """

    def __init__(self, worker: str, names: list[str] | None = None, tick: float = 1.0) -> None:
        self.worker = worker
        self.names = names
        self.tick = tick
        self.stopping = threading.Event()

    def selected(self) -> list[Job]:
        registered = jobs()
        if self.names is None:
            return list(registered.values())
        unknown = [n for n in self.names if n not in registered]
        if unknown:
            raise ValueError(f"unknown job(s) {', '.join(unknown)}; known: {', '.join(registered)}")
        return [registered[n] for n in self.names]

    def run_once(self) -> dict[str, Any]:
        """Run each selected job that is due and not held by another runner.

        Returns:
            Job name -> its result, or the exception it raised (logged, never re-raised).
        """
        results: dict[str, Any] = {}
        for job in self.selected():
            if self.stopping.is_set():
                break
            if not self._claim(job):
                continue
            try:
                results[job.name] = job.func(self.worker)
            except Exception as exc:
                logger.exception("job %s failed", job.name)
                results[job.name] = exc
                self._done(job, error=f"{type(exc).__name__}: {exc}")
            else:
                self._done(job)
        return results

    def run_forever(self, *, install_signals: bool = True) -> None:
        """Loop until :meth:`stop` (or SIGINT/SIGTERM when ``install_signals``)."""
        previous = {}
        if install_signals:
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, lambda *_: self.stop())
        try:
            logger.info("runner %s started with jobs %s", self.worker, ", ".join(j.name for j in self.selected()))
            while not self.stopping.is_set():
                close_old_connections()  # a long-lived loop must not keep a broken connection
                self.run_once()
                self.stopping.wait(self.tick)
            logger.info("runner %s stopped", self.worker)
        finally:
            for signum, handler in previous.items():  # called from Python (tests, the demo): leave no trace
                signal.signal(signum, handler)

    def stop(self) -> None:
        self.stopping.set()

    def _claim(self, job: Job) -> bool:
        now = timezone.now()
        try:
            row, _ = RunnerJob.objects.get_or_create(
                name=job.name, defaults={"interval": job.interval, "next_run_at": now}
            )
        except IntegrityError:  # another runner created it at the same moment
            row = RunnerJob.objects.get(name=job.name)
        if row.interval != job.interval:
            RunnerJob.objects.filter(pk=row.pk).update(interval=job.interval)
        lease = now + timedelta(seconds=max(job.interval, 600.0))
        return bool(
            RunnerJob.objects.filter(pk=row.pk, enabled=True, next_run_at__lte=now)
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now) | Q(locked_by=self.worker))
            .update(locked_by=self.worker, locked_until=lease, last_started_at=now)
        )

    def _done(self, job: Job, error: str = "") -> None:
        now = timezone.now()
        row = RunnerJob.objects.get(name=job.name)
        row.last_finished_at = now
        row.next_run_at = now + timedelta(seconds=job.interval)
        row.runs += 1
        row.failures += 1 if error else 0
        row.last_error = error[:2000]
        row.locked_by, row.locked_until = "", None
        row.save()
