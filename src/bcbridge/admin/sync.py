"""Sync in the admin: configuration (editable, with "Sync now"), state, runs, runner jobs.

"Sync now" calls the same library function as ``bcbridge sync`` for the chosen rows, in the
request (a page of BC at a time); for large first loads prefer the command or the runner.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from bcbridge.admin._display import badge
from bcbridge.entities import BC
from bcbridge.exceptions import BCBridgeError
from bcbridge.models import Company, RunnerJob, SyncConfig, SyncRun, SyncState
from bcbridge.sync.engine import companies_to_sync, sync_entity_set
from bcbridge.sync.reconcile import reconcile_entity_set

__all__ = ["RunnerJobAdmin", "SyncConfigAdmin", "SyncRunAdmin", "SyncStateAdmin"]


def _report(modeladmin: admin.ModelAdmin, request: HttpRequest, runs: list[SyncRun]) -> None:  # type: ignore[type-arg]
    for run in runs:
        text = (
            f"{run.kind} {run.entity_set} of {run.company}: {run.status}; {run.fetched:,} read, "
            f"{run.created:,} created, {run.updated:,} updated, {run.deleted:,} deleted"
        )
        if run.kind == SyncRun.Kind.RECONCILE:
            text += f"; {run.missing} missing, {run.extra} extra, {run.stale} stale"
        if run.error:
            text += f" ({run.error})"
        level = messages.ERROR if run.status == SyncRun.Status.FAILED else messages.SUCCESS
        modeladmin.message_user(request, text, level)


def _run(targets: Sequence[tuple[Company, SyncConfig | None, str, str]], *, reconcile: bool = False) -> list[SyncRun]:
    """Sync or reconcile ``(company, config or None, entity_set, api)`` targets."""
    runs: list[SyncRun] = []
    by_connection: dict[int, list[tuple[Company, SyncConfig | None, str, str]]] = {}
    for target in targets:
        by_connection.setdefault(target[0].connection_id, []).append(target)
    for items in by_connection.values():
        with BC(items[0][0].connection) as bc:
            for company, config, entity_set, api in items:
                options: dict[str, Any] = {"api": api}
                if config is not None:
                    options.update(children=config.child_sets, filter=config.filter, page_size=config.page_size)
                function = reconcile_entity_set if reconcile else sync_entity_set
                runs.append(function(bc, company, entity_set, **options))
    return runs


def _short(text: str, size: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"


@admin.register(SyncConfig)
class SyncConfigAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("entity_set", "connection", "company", "enabled", "mode", "poll_interval")
    list_filter = ("connection", "enabled", "mode")
    list_editable = ("enabled", "mode", "poll_interval")
    search_fields = ("entity_set", "api", "filter")
    actions = ["sync_now", "full_sync_now", "reconcile_now"]

    def _targets(self, request: HttpRequest, queryset: QuerySet[SyncConfig]) -> list[Any]:
        targets = []
        for config in queryset.select_related("connection", "company"):
            companies = [config.company] if config.company else companies_to_sync(config.connection)[0]
            if not companies:
                self.message_user(request, companies_to_sync(config.connection)[1], messages.WARNING)
            targets += [(company, config, config.entity_set, config.api) for company in companies]
        return targets

    def _act(self, request: HttpRequest, queryset: QuerySet[SyncConfig], **options: Any) -> None:
        try:
            targets = self._targets(request, queryset)
            if options.pop("full", False):
                runs = []
                for company, config, entity_set, api in targets:
                    with BC(company.connection) as bc:
                        runs.append(
                            sync_entity_set(
                                bc,
                                company,
                                entity_set,
                                api=api,
                                full=True,
                                children=config.child_sets,
                                filter=config.filter,
                                page_size=config.page_size,
                            )
                        )
            else:
                runs = _run(targets, **options)
        except BCBridgeError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        _report(self, request, runs)

    @admin.action(description="Sync now (incremental)")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[SyncConfig]) -> None:
        self._act(request, queryset)

    @admin.action(description="Full sync now")
    def full_sync_now(self, request: HttpRequest, queryset: QuerySet[SyncConfig]) -> None:
        self._act(request, queryset, full=True)

    @admin.action(description="Reconcile now (find deletes, missing and stale records)")
    def reconcile_now(self, request: HttpRequest, queryset: QuerySet[SyncConfig]) -> None:
        self._act(request, queryset, reconcile=True)


@admin.register(SyncState)
class SyncStateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("entity_set", "company", "watermark", "last_success_at", "lock", "short_error")
    list_filter = ("connection", "company", "entity_set")
    readonly_fields = [f.name for f in SyncState._meta.concrete_fields]
    actions = ["sync_now", "forget_watermark", "release_lock"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Release the lock (the holder's running run becomes abandoned)")
    def release_lock(self, request: HttpRequest, queryset: QuerySet[SyncState]) -> None:
        from bcbridge.sync._state import unlock

        released = unlock(queryset, by=f"admin user {request.user}")
        if not released:
            self.message_user(request, "None of the selected sets was locked.", messages.WARNING)
            return
        held = ", ".join(f"{state.entity_set} (held by {holder})" for state, holder in released)
        self.message_user(request, f"Released {len(released)} lock(s): {held}.")

    @admin.display(description="lock")
    def lock(self, obj: SyncState) -> str:
        return f"held by {obj.locked_by}" if obj.locked else "free"

    @admin.display(description="last error")
    def short_error(self, obj: SyncState) -> str:
        return _short(obj.last_error)

    @admin.action(description="Sync now (incremental)")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[SyncState]) -> None:
        targets = [(s.company, None, s.entity_set, s.api) for s in queryset.select_related("company__connection")]
        try:
            _report(self, request, _run(targets))
        except BCBridgeError as exc:
            self.message_user(request, str(exc), messages.ERROR)

    @admin.action(description="Forget the watermark (the next sync is a full one)")
    def forget_watermark(self, request: HttpRequest, queryset: QuerySet[SyncState]) -> None:
        count = queryset.update(watermark=None)
        self.message_user(request, f"{count} watermark(s) cleared.")


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("started_at", "entity_set", "company", "kind", "status_badge", "rows", "seconds", "short_error")
    list_filter = ("status", "kind", "entity_set", "connection", "company")
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in SyncRun._meta.concrete_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="seconds")
    def seconds(self, obj: SyncRun) -> str:
        return f"{obj.duration.total_seconds():.1f}" if obj.duration else "-"

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: SyncRun) -> str:
        return badge(obj.status, SyncRun.Status(obj.status).label)

    @admin.display(description="rows (records and their child rows)")
    def rows(self, obj: SyncRun) -> str:
        if obj.kind == SyncRun.Kind.RECONCILE:
            return f"{obj.missing:,} missing, {obj.extra:,} extra, {obj.stale:,} stale"
        return f"{obj.fetched:,} read · {obj.created:,} new · {obj.updated:,} changed · {obj.deleted:,} deleted"

    @admin.display(description="error")
    def short_error(self, obj: SyncRun) -> str:
        return _short(obj.error, 60)


@admin.register(RunnerJob)
class RunnerJobAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "name",
        "enabled",
        "interval",
        "next_run_at",
        "last_finished_at",
        "runs",
        "failures",
        "locked_by",
    )
    list_editable = ("enabled",)
    readonly_fields = (
        "name",
        "next_run_at",
        "last_started_at",
        "last_finished_at",
        "runs",
        "failures",
        "last_error",
        "locked_by",
        "locked_until",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
