"""``bcbridge run``: the embedded runner (due polls and the other periodic jobs), in-process."""

from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from bcbridge.jobs import jobs  # importing it registers every periodic job
from bcbridge.runner import Runner
from bcbridge.sync._state import worker_id
from bcbridge.sync.notifications import DeliveryWorker


class Command(BaseCommand):
    help = (
        "Run bcbridge's periodic jobs (sync polls, webhook subscriptions and deliveries, the "
        "outbox, request-log retention) until Ctrl+C or SIGTERM."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Run the due jobs once and exit.")
        parser.add_argument("--job", action="append", dest="jobs", metavar="NAME", help="Only this job (repeatable).")
        parser.add_argument("--tick", type=float, default=1.0, help="Seconds between schedule checks.")

    def handle(self, *args: Any, **options: Any) -> None:
        logging.getLogger("bcbridge").setLevel(logging.INFO)
        runner = Runner(worker_id(), options["jobs"], tick=options["tick"])
        try:
            selected = runner.selected()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        names = ", ".join(f"{j.name} (every {j.interval:g} s)" for j in selected)
        self.stdout.write(f"bcbridge runner {runner.worker}: {names}; registered: {', '.join(jobs())}")
        if options["once"]:
            for name, result in runner.run_once().items():
                self.stdout.write(f"{name}: {result!r}")
            return
        self.stdout.write("press Ctrl+C to stop (the job in progress finishes first)")
        # webhook deliveries are processed the moment the receiver stores them, not at the next tick
        worker = DeliveryWorker().start()
        try:
            runner.run_forever()
        finally:
            worker.stop()
        self.stdout.write("runner stopped")
