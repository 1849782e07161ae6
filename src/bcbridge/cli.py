"""The ``bcbridge`` console script: Django's management commands with the ready site's settings.

``bcbridge emulator ...`` starts the BC emulator without loading Django at all.
"""

from __future__ import annotations

import os
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    if len(argv) > 1 and argv[1] == "emulator":
        from bcbridge.emulator.cli import main as emulator_main

        raise SystemExit(emulator_main(argv[2:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bcbridge.site.settings")
    from django.core.management import execute_from_command_line

    argv[0] = "bcbridge"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
