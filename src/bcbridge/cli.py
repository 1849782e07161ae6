"""The ``bcbridge`` console script: Django's management commands with the ready site's settings.

``bcbridge emulator ...`` starts the BC emulator without loading Django at all.

What a user sees when something goes wrong is decided here, once for every command:

* a usage mistake (unknown option, bad value) is one line on stderr naming the fix, exit 2;
* a failure (``CommandError``, a :class:`~bcbridge.exceptions.BCBridgeError`, a database
  without bcbridge's tables, an unreachable database) is one line on stderr, exit 1;
* ``--traceback`` shows the full traceback instead.

``--verbose`` (the same as Django's ``--verbosity 2``) also names the database and the data
folder the command uses, so it is plain which ``BCBRIDGE_HOME`` a command reads.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

__all__ = ["describe", "main"]

#: bcbridge commands that work without a migrated database (they create it or need none).
_NO_DATABASE = {"demo", "emulator", "generate_key", "migrate", "help", "version", "makemigrations", "check"}


def _command_name(argv: list[str]) -> str:
    return argv[1] if len(argv) > 1 and not argv[1].startswith("-") else ""


def _wants_verbose(argv: list[str]) -> bool:
    for index, arg in enumerate(argv):
        if arg in ("-v", "--verbosity") and index + 1 < len(argv) and argv[index + 1] in ("2", "3"):
            return True
        if arg in ("-v2", "-v3", "--verbosity=2", "--verbosity=3"):
            return True
    return False


def _where() -> str:
    from django.conf import settings

    from bcbridge.management._database import database_description

    home = getattr(settings, "HOME", None)
    folder = f"; data folder {home}" if home else ""
    return f"{database_description()}{folder}"


def _fail(message: str, code: int = 1) -> NoReturn:
    sys.stderr.write(f"bcbridge: error: {message}\n")
    sys.stderr.flush()
    raise SystemExit(code)


def _missing_sqlite_database() -> str:
    """The path of the SQLite database when it does not exist yet, else ``""``."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.sqlite3":
        return ""
    name = str(db["NAME"])
    return "" if name == ":memory:" or os.path.exists(name) else name


def _unmigrated(exc: BaseException) -> bool:
    text = str(exc)
    return ("no such table" in text) or ("does not exist" in text and "relation" in text)


def describe(exc: BaseException) -> str:
    """One line for a failure that escaped a command: what went wrong and what to do."""
    from django.core.management.base import CommandError
    from django.db import DatabaseError, OperationalError

    from bcbridge.exceptions import BCBridgeError

    if isinstance(exc, DatabaseError) and _unmigrated(exc):
        return f"the database has no bcbridge tables ({_where()}): run `bcbridge migrate` first"
    if isinstance(exc, OperationalError):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"cannot use the database ({_where()}): {first}; check DATABASE_URL / BCBRIDGE_HOME"
    if isinstance(exc, CommandError | BCBridgeError):
        return " ".join(str(exc).split())
    return f"{type(exc).__name__}: {' '.join(str(exc).split())} (run again with --traceback for details)"


def _install_one_line_usage_errors() -> None:
    """Usage mistakes print one line (not argparse's usage block), exit status 2."""
    from django.core.management import base

    if getattr(base.CommandParser, "_bcbridge_one_line", False):
        return
    original = base.CommandParser.error

    def error(self: Any, message: str) -> NoReturn:
        if not getattr(self, "called_from_command_line", False):
            original(self, message)  # call_command(): Django raises CommandError
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")

    base.CommandParser.error = error  # type: ignore[method-assign]
    base.CommandParser._bcbridge_one_line = True  # type: ignore[attr-defined]


#: One-shot commands whose failures the command reports itself: their log stays quiet
#: (errors only, without tracebacks) unless ``--verbose`` or ``--traceback``.
_QUIET_LOG = {"sync", "reconcile", "push", "call", "connect", "connections", "webhooks", "endpoints", "rotate_keys"}


def main(argv: list[str] | None = None) -> None:
    """Run ``bcbridge COMMAND ...`` (see the module docstring for errors and exit codes)."""
    argv = list(sys.argv if argv is None else argv)
    if len(argv) > 1 and argv[1] == "emulator":
        from bcbridge.emulator.cli import main as emulator_main

        raise SystemExit(emulator_main(argv[2:]))
    argv[0] = "bcbridge"
    argv = ["--verbosity=2" if arg == "--verbose" else arg for arg in argv]
    command = _command_name(argv)
    user_traceback = "--traceback" in argv
    if command and command != "help" and not user_traceback:
        argv.append("--traceback")  # errors come back to this function, which prints one line
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bcbridge.site.settings")
    import django
    from django.core.management import execute_from_command_line

    try:
        django.setup()
    except Exception as exc:  # a settings mistake (bad DATABASE_URL, unreadable key file)
        if user_traceback:
            raise
        _fail(f"the settings could not be loaded: {type(exc).__name__}: {exc}")
    _install_one_line_usage_errors()
    verbose = _wants_verbose(argv)
    if verbose:
        sys.stderr.write(f"bcbridge: database {_where()}\n")
    if command and command != "help":
        _check_command(command)
    missing = _missing_sqlite_database()
    if missing and command and command not in _NO_DATABASE and not _is_help(argv):
        _fail(
            f"no database at {missing}: run `bcbridge migrate` to create one, or set BCBRIDGE_HOME "
            "to the data folder that has one (`make demo` uses ./var)"
        )
    from bcbridge._cli_log import quiet

    quiet["on"] = command in _QUIET_LOG and not (verbose or user_traceback)
    try:
        execute_from_command_line(argv)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as exc:
        if user_traceback:
            raise
        from django.core.management.base import CommandError

        _fail(describe(exc), exc.returncode if isinstance(exc, CommandError) else 1)
    finally:
        quiet["on"] = False


def _check_command(name: str) -> None:
    """An unknown command is a usage mistake: one line with the closest names, exit 2."""
    import difflib

    from django.core.management import get_commands

    known = sorted(get_commands())
    if name in known:
        return
    close = difflib.get_close_matches(name, known, n=3)
    guess = f" (did you mean {', '.join(close)}?)" if close else ""
    _fail(f"unknown command {name!r}{guess}; `bcbridge help` lists them", 2)


def _is_help(argv: list[str]) -> bool:
    return "-h" in argv or "--help" in argv


if __name__ == "__main__":
    main()
