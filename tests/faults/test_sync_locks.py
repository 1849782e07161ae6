"""Sync locks held by a heartbeat (issue #16 item 5): a dead local holder is taken over at
once, its run becomes "abandoned", a skipped set makes ``bcbridge sync`` fail naming the
holder, and ``bcbridge unlock`` / the admin action release a lock."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from django.contrib.admin.sites import site
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.utils import timezone

from bcbridge.conf import get_settings
from bcbridge.models import Item, SyncConfig, SyncRun, SyncState
from bcbridge.sync import _state
from bcbridge.sync.engine import sync, sync_entity_set

pytestmark = pytest.mark.django_db(transaction=True)


def _dead_pid() -> int:
    """The pid of a process of this host that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _locked_by(company, holder: str, entity_set: str = "items") -> tuple[SyncState, SyncRun]:
    """``holder`` died in the middle of a run: the lock and a running run are left behind."""
    state = SyncState.objects.create(
        connection=company.connection,
        company=company,
        entity_set=entity_set,
        locked_by=holder,
        locked_until=timezone.now() + timedelta(seconds=get_settings().SYNC_LOCK_LEASE),
    )
    run = SyncRun.objects.create(
        connection=company.connection, company=company, entity_set=entity_set, kind="full", worker=holder
    )
    return state, run


def test_the_lease_is_short():
    assert get_settings().SYNC_LOCK_LEASE <= 60


def test_a_dead_holder_on_this_host_is_taken_over_at_once(bc, company):
    holder = f"{socket.gethostname()}:{_dead_pid()}:deadbeef"
    _, orphan = _locked_by(company, holder)
    run = sync_entity_set(bc, company, "items", worker="next-worker")
    assert run.status == SyncRun.Status.SUCCEEDED and Item.objects.exists()
    orphan.refresh_from_db()
    assert orphan.status == SyncRun.Status.ABANDONED and "process is gone" in orphan.error
    assert orphan.finished_at is not None
    assert not SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists()


def test_a_live_holder_on_another_host_is_respected_and_sync_fails_naming_it(bc, company):
    SyncConfig.objects.create(connection=company.connection, entity_set="items")
    holder = "other-host:4242:abcd"
    _locked_by(company, holder)
    report = sync(company.connection, ["items"])
    assert report.ok and not report.complete  # nothing failed, but a set was skipped
    assert [r.entity_set for r in report.skipped] == ["items"] and holder in report.problem()
    with pytest.raises(CommandError, match=r"items skipped.*other-host:4242"):
        call_command("sync", "items", connection=company.connection.name)


def test_an_expired_lease_is_taken_over_and_its_run_abandoned(bc, company):
    state, orphan = _locked_by(company, "other-host:1:ffff")
    SyncState.objects.filter(pk=state.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert sync_entity_set(bc, company, "items").status == SyncRun.Status.SUCCEEDED
    orphan.refresh_from_db()
    assert orphan.status == SyncRun.Status.ABANDONED and "expired" in orphan.error


def test_a_worker_that_lost_its_lock_ends_abandoned_not_failed(bc, company, monkeypatch):
    real_renew = _state.renew

    def stolen(state, worker, **changes):
        SyncState.objects.filter(pk=state.pk).update(locked_by="thief")
        return real_renew(state, worker, **changes)

    monkeypatch.setattr(_state, "renew", stolen)
    run = sync_entity_set(bc, company, "items")
    assert run.status == SyncRun.Status.ABANDONED and "lost the lock" in run.error


def test_unlock_command_releases_and_abandons(bc, company, capsys):
    state, orphan = _locked_by(company, "other-host:4242:abcd")
    with pytest.raises(CommandError, match="Name the entity sets"):
        call_command("unlock")
    assert "held by other-host:4242:abcd" in capsys.readouterr().out
    call_command("unlock", "items", connection=company.connection.name)
    state.refresh_from_db()
    orphan.refresh_from_db()
    assert state.locked_by == "" and state.locked_until is None
    assert orphan.status == SyncRun.Status.ABANDONED and "bcbridge unlock" in orphan.error
    assert sync_entity_set(bc, company, "items").status == SyncRun.Status.SUCCEEDED
    with pytest.raises(CommandError, match="No set is locked"):
        call_command("unlock")


def test_admin_action_releases_the_lock(company, admin_user):
    state, orphan = _locked_by(company, "other-host:4242:abcd")
    admin = site._registry[SyncState]
    request = RequestFactory().post("/")
    request.user = admin_user
    messages: list[str] = []
    admin.message_user = lambda request, text, *args, **kwargs: messages.append(text)
    admin.release_lock(request, SyncState.objects.filter(pk=state.pk))
    state.refresh_from_db()
    orphan.refresh_from_db()
    assert state.locked_by == "" and orphan.status == SyncRun.Status.ABANDONED
    assert "held by other-host:4242:abcd" in messages[0]
