"""``manage.py emulator``: the BC emulator, for projects that use bcbridge as an app."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the local Business Central + Entra ID emulator (see `bcbridge emulator --help`)."

    def run_from_argv(self, argv: list[str]) -> None:
        from bcbridge.emulator.cli import main

        raise SystemExit(main(argv[2:]))

    def handle(self, *args: Any, **options: Any) -> None:  # pragma: no cover - run_from_argv takes over
        from bcbridge.emulator.cli import main

        main([])
