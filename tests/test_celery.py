"""A Celery worker (Redis broker) runs the same jobs as ``bcbridge run``, with the same claims."""

from __future__ import annotations

import os

import pytest
from django.db import transaction

from bcbridge.models import OutboxStatus, RunnerJob
from bcbridge.push import sales_order
from bcbridge.sync.companies import load_companies

REDIS = os.environ.get("BCBRIDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def celery_worker_app():
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    from celery.contrib.testing.worker import start_worker

    from bcbridge.site.celery import app

    app.conf.update(broker_url=REDIS, result_backend=REDIS, task_always_eager=False)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield app


@pytest.mark.django_db(transaction=True)
def test_worker_dispatches_the_outbox_once(celery_worker_app, bc_emulator, emulator_transport):
    from bcbridge.tasks import beat_schedule, run_job

    from .conftest import make_connection

    connection = make_connection(bc_emulator)
    company = load_companies(connection, select=["CRONUS US"])[0]
    with transaction.atomic():
        message = sales_order(
            connection,
            "CRONUS US",
            customer="C000001",
            lines=[{"item": "1000000", "quantity": 1}],
            external_document_number="CELERY-1",
        )
    assert run_job.delay("outbox").get(timeout=60).startswith("1 sent")
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT and message.bc_id
    orders = [
        o
        for _, o in bc_emulator.bc.store.iter(str(company.bc_id), "salesOrders")
        if o["externalDocumentNumber"] == "CELERY-1"
    ]
    assert len(orders) == 1
    # the job's lease is the runner's: right after running it is not due, so a second delivery skips
    assert run_job.delay("outbox").get(timeout=60) == "skipped"
    assert RunnerJob.objects.filter(name="outbox").exists()
    assert beat_schedule()["bcbridge-outbox"]["args"] == ("outbox",)
