"""The embedded runner: due polls, job state in the database, leases, graceful stop."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from bcbridge import runner
from bcbridge.models import Item, Location, RunnerJob, SyncConfig, SyncRun
from bcbridge.sync.companies import load_companies
from bcbridge.sync.engine import sync_due

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def company(connection, bc_emulator):
    first = bc_emulator.bc.companies()[0]
    load_companies(connection, select=[first["id"]])
    SyncConfig.objects.create(connection=connection, entity_set="locations", poll_interval=60)
    SyncConfig.objects.create(connection=connection, entity_set="items", poll_interval=600, enabled=False)
    return connection.companies.get(bc_id=first["id"])


@pytest.fixture
def job_registry():
    saved = runner.jobs()
    yield
    for name in list(runner.jobs()):
        runner.unregister(name)
    for job in saved.values():
        runner.register(job.name, job.interval, job.func)


def test_sync_due_runs_enabled_polls_by_their_interval(company):
    runs = sync_due()
    assert [(r.entity_set, r.status) for r in runs] == [("locations", SyncRun.Status.SUCCEEDED)]
    assert Location.objects.filter(company=company).exists() and not Item.objects.exists()
    assert sync_due() == []  # not due again before its interval
    later = sync_due(timezone.now() + timedelta(seconds=61))
    assert [r.kind for r in later] == [SyncRun.Kind.INCREMENTAL]


def test_runner_job_state_is_kept_in_the_database(company, job_registry):
    worker = runner.Runner("runner-a", ["sync"])
    results = worker.run_once()
    assert results == {"sync": 1}
    row = RunnerJob.objects.get(name="sync")
    assert row.runs == 1 and row.next_run_at > timezone.now() and not row.locked_by
    assert worker.run_once() == {}  # not due yet


def test_a_failing_job_is_recorded_and_others_still_run(db, job_registry):
    calls = []
    runner.register("broken", 1, lambda worker: 1 / 0)
    runner.register("fine", 1, lambda worker: calls.append(worker) or "done")
    results = runner.Runner("runner-a", ["broken", "fine"]).run_once()
    assert isinstance(results["broken"], ZeroDivisionError) and results["fine"] == "done"
    broken = RunnerJob.objects.get(name="broken")
    assert broken.failures == 1 and "ZeroDivisionError" in broken.last_error
    assert calls == ["runner-a"]


def test_two_runners_never_run_a_job_at_once(db, job_registry):
    seen = []

    def job(worker):
        # while runner-a holds the lease, runner-b finds nothing to do
        seen.append(runner.Runner("runner-b", ["solo"]).run_once())
        return worker

    runner.register("solo", 1, job)
    assert runner.Runner("runner-a", ["solo"]).run_once() == {"solo": "runner-a"}
    assert seen == [{}]


def test_sigterm_stops_the_loop_after_the_current_job(db, job_registry):
    done = []

    def job(worker):
        os.kill(os.getpid(), signal.SIGTERM)
        done.append(worker)

    runner.register("once", 0.01, job)
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        runner.Runner("runner-a", ["once"], tick=0.01).run_forever()
        # the loop leaves the caller's handlers as they were (a test or the demo calling it
        # must still get KeyboardInterrupt on SIGINT afterwards)
        assert {s: signal.getsignal(s) for s in previous} == previous
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    assert done == ["runner-a"]


def test_run_command_once(company, capsys):
    call_command("run", "--once", "--job", "sync")
    out = capsys.readouterr().out
    assert "sync: 1" in out
    assert Location.objects.filter(company=company).exists()
