"""The console log of one-shot CLI commands: quiet, one line per failure.

``bcbridge sync`` and the other one-shot commands report failures themselves (one line on
stderr, see :mod:`bcbridge.cli`), so while one runs the console log keeps only errors and
drops tracebacks; ``--verbose`` or ``--traceback`` keep everything. The switch is a module
flag set by :func:`bcbridge.cli.main` for the duration of a command (logging is configured
again by every ``django.setup()``, so the filter reads the flag at each record).
"""

from __future__ import annotations

import logging

__all__ = ["CliQuiet", "quiet"]

#: ``{"on": bool}``: whether a one-shot command is running without --verbose/--traceback.
quiet = {"on": False}


class CliQuiet(logging.Filter):
    """While :data:`quiet` is on: drop records below ERROR and the traceback of the rest."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not quiet["on"]:
            return True
        if record.levelno < logging.ERROR:
            return False
        record.exc_info = None
        record.exc_text = None
        return True
