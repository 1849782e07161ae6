"""``bcbridge demo [--once]``: the main job end to end (see :mod:`bcbridge.demo`)."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.table import Table

from bcbridge.demo import DEMO_PASSWORD, DEMO_USER, MainJob
from bcbridge.management._database import database_description


class Command(BaseCommand):
    help = (
        "The main job on the embedded default: emulator + site + runner, a connected company, "
        "full sync, webhooks, BC activity, web-shop orders pushed, reconcile. --once: do it, "
        "print a summary and exit 0 only if every step succeeded."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run unattended, print a summary, exit (0 = all good).")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000, help="Port of the site (0: any free port).")
        parser.add_argument("--emulator-port", type=int, default=8765, help="Port of the emulator (0: any free port).")
        parser.add_argument(
            "--scale", type=float, default=2.0, help="Emulator data volume (1 = ~500 items per company)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console(file=self.stdout, width=140)
        job = MainJob(
            host=options["host"],
            site_port=options["port"],
            emulator_port=options["emulator_port"],
            scale=options["scale"],
            notification_delay=2.0 if options["once"] else 10.0,
        )
        try:
            with console.status("running the main job (sync, webhooks, push, reconcile)..."):
                job.run()
            self._report(console, job, serving=not options["once"])
            if options["once"]:
                if not job.ok:
                    raise CommandError("the demo failed: see the steps above")
                return
            self._serve(console, job)
        finally:
            job.stop()

    def _report(self, console: Console, job: MainJob, *, serving: bool) -> None:
        steps = Table(title="bcbridge main job")
        for column in ("step", "result", "detail"):
            steps.add_column(column)
        for step in job.steps:
            steps.add_row(step.name, "[green]ok[/green]" if step.ok else "[red]failed[/red]", step.detail)
        console.print(steps)
        if job.company is not None:
            totals = Table(title=f"At the end ({job.company.name})")
            totals.add_column("what")
            totals.add_column("count", justify="right")
            for what, count in job.summary():
                totals.add_row(what, str(count))
            console.print(totals)
        number = _an_item_number(job)
        console.print(f"data       {database_description()}", markup=False)
        example = f", `bcbridge sync --connection demo items --number {number}`" if serving else ""
        console.print(
            f"           the CLI reads the same data from this folder: `bcbridge connections`{example}",
            markup=False,
        )
        if serving and job.site is not None and job.emulator_server is not None:
            console.print(f"admin      {job.site.url}/admin/   (login {DEMO_USER} / {DEMO_PASSWORD})")
            console.print(f"dashboard  {job.site.url}/bcbridge/dashboard/")
            console.print(
                f"emulator   {job.emulator_server.url}   (sign-in: {job.emulator.config.demo_user_email} / "  # type: ignore[union-attr]
                f"{job.emulator.config.demo_user_password})"
            )  # type: ignore[union-attr]

    def _serve(self, console: Console, job: MainJob) -> None:
        """Keep everything running: the runner's jobs, plus a little BC activity every 20 s."""
        import bcbridge.jobs  # noqa: F401  registers every periodic job
        from bcbridge.demo.activity import simulate
        from bcbridge.runner import Runner
        from bcbridge.sync._state import worker_id

        runner = Runner(worker_id())
        stop = threading.Event()

        def activity() -> None:
            round_no = 1
            while not stop.wait(20):
                # a new seed each round: new item names, other prices and customers
                simulate(job.emulator, str(job.company.bc_id), seed=1000 + round_no)  # type: ignore[arg-type, union-attr]
                round_no += 1

        threading.Thread(target=activity, name="bcbridge-demo-activity", daemon=True).start()
        console.print("Running: BC changes every 20 s flow in through webhooks. Press Ctrl+C to stop.")
        previous = signal.signal(signal.SIGTERM, lambda *_: runner.stop())
        try:
            runner.run_forever()
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            signal.signal(signal.SIGTERM, previous)


def _an_item_number(job: MainJob) -> str:
    """A real item number of the demo company, for the example command."""
    from bcbridge.models import Item

    if job.company is None:
        return "1000"
    number = Item.objects.filter(company=job.company).order_by("number").values_list("number", flat=True).first()
    return number or "1000"
