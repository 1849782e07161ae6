"""Celery tasks: bcbridge's periodic jobs on many workers (DESIGN.md: scale-out).

Every job of :mod:`bcbridge.jobs` runs through one task, :func:`run_job`, which goes
through the same claim as ``bcbridge run`` (a lease on the job's
:class:`~bcbridge.models.RunnerJob` row), so Celery workers, beat firing twice, and
embedded runners never run one job twice at once; inside a job, sync sets, outbox messages
and webhook deliveries are claimed with row locks as well. :func:`beat_schedule` gives the
beat entries for every registered job at its interval. The ready site's Celery app is
``bcbridge.site.celery`` (``CELERY_BROKER_URL``, e.g. ``redis://127.0.0.1:6379/0``)::

    celery -A bcbridge.site.celery worker --beat
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from bcbridge.jobs import jobs
from bcbridge.runner import Runner
from bcbridge.sync._state import worker_id

__all__ = ["beat_schedule", "run_job"]


@shared_task(name="bcbridge.run_job", ignore_result=False)
def run_job(name: str) -> str:
    """Run the job ``name`` if it is due and no other worker holds it.

    Returns:
        Its result as text, ``"skipped"`` when not due or held elsewhere.

    Raises:
        ValueError: ``name`` is not a registered job (the message lists them).
    """
    results = Runner(worker_id(), [name]).run_once()
    if name not in results:
        return "skipped"
    result = results[name]
    if isinstance(result, Exception):
        raise result
    return str(result)


def beat_schedule() -> dict[str, dict[str, Any]]:
    """Beat entries: every registered job at its interval (seconds)."""
    return {
        f"bcbridge-{job.name}": {"task": "bcbridge.run_job", "schedule": job.interval, "args": (job.name,)}
        for job in jobs().values()
    }
