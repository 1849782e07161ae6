"""Progress reporting for syncs and reconciles: a small protocol, and rich bars for the CLI.

The engine calls :meth:`Progress.started` once per run (with BC's ``$count`` when the
reporter wants totals), :meth:`Progress.page` after each committed page and
:meth:`Progress.finished` at the end. Library callers pass nothing (:class:`NullProgress`).
"""

from __future__ import annotations

from typing import IO, Any, Protocol

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import (
    Progress as RichBars,
)
from rich.table import Table

from bcbridge.models import SyncRun

__all__ = ["NullProgress", "Progress", "RichProgress", "summary_table"]


class Progress(Protocol):
    wants_total: bool

    def started(self, run: SyncRun, total: int | None) -> None: ...

    def page(self, run: SyncRun, records: int) -> None: ...

    def finished(self, run: SyncRun) -> None: ...


class NullProgress:
    """Reports nothing."""

    wants_total = False

    def started(self, run: SyncRun, total: int | None) -> None:
        pass

    def page(self, run: SyncRun, records: int) -> None:
        pass

    def finished(self, run: SyncRun) -> None:
        pass


class RichProgress:
    """One bar per run: records (of BC's ``$count``), pages, records/s; use as a context manager."""

    wants_total = True

    def __init__(self, file: IO[str] | None = None) -> None:
        self.console = Console(file=file, width=120)
        self.bars = RichBars(
            SpinnerColumn(),
            TextColumn("{task.description}", justify="left"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("records, {task.fields[pages]} pages, {task.fields[rate]} rec/s"),
            TimeElapsedColumn(),
            console=self.console,
        )
        self._tasks: dict[int, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self.bars.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bars.stop()

    def started(self, run: SyncRun, total: int | None) -> None:
        label = escape(f"{run.kind} {run.entity_set} ({run.company.name})")
        self._tasks[run.pk] = self.bars.add_task(label, total=total, pages=0, rate="-")

    def page(self, run: SyncRun, records: int) -> None:
        task = self._tasks[run.pk]
        bar = next(t for t in self.bars.tasks if t.id == task)
        elapsed = bar.elapsed or 0.0
        done = bar.completed + records
        rate = f"{done / elapsed:,.0f}" if elapsed > 0 else "-"
        self.bars.update(task, advance=records, pages=run.pages, rate=rate)

    def finished(self, run: SyncRun) -> None:
        task = self._tasks.get(run.pk)
        if task is not None:
            bar = next(t for t in self.bars.tasks if t.id == task)
            self.bars.update(task, total=bar.completed or None, description=f"{bar.description} {escape(run.status)}")


def summary_table(runs: list[SyncRun], *, title: str = "Sync summary", reconcile: bool = False) -> Table:
    """A rich table of runs: company, set, kind, status, counts, duration, error."""
    caption = "" if reconcile else "rows = records plus their child rows (lines, variants); the bars count records"
    table = Table(title=title, caption=caption)
    columns = ["company", "entity set", "kind", "status"]
    columns += ["missing", "extra", "stale"] if reconcile else ["pages", "rows read", "new", "changed", "deleted"]
    columns += ["seconds", "error"]
    for column in columns:
        table.add_column(
            column, justify="right" if column not in {"company", "entity set", "kind", "status", "error"} else "left"
        )
    for run in runs:
        counts = (
            [run.missing, run.extra, run.stale]
            if reconcile
            else [
                run.pages,
                run.fetched,
                run.created,
                run.updated,
                run.deleted,
            ]
        )
        seconds = f"{run.duration.total_seconds():.1f}" if run.duration else "-"
        table.add_row(
            escape(run.company.name),
            run.entity_set,
            run.kind,
            run.status,
            *(f"{n:,}" for n in counts),
            seconds,
            escape(" ".join(run.error.split())[:300]),
        )
    return table
