"""The ready site's Celery app: ``celery -A bcbridge.site.celery worker --beat``.

Broker and options come from Django settings prefixed ``CELERY_`` (``CELERY_BROKER_URL``).
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bcbridge.site.settings")

app = Celery("bcbridge")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["bcbridge"])


@app.on_after_finalize.connect
def _schedule(sender: Celery, **_: Any) -> None:
    from bcbridge.tasks import beat_schedule

    sender.conf.beat_schedule = {**beat_schedule(), **(sender.conf.beat_schedule or {})}
