"""Where a benchmark's per-database child process keeps its data: one place for every script."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["child_env", "pg_database"]


def pg_database(url: str) -> None:
    """Create the PostgreSQL database named at the end of ``url`` if it does not exist yet."""
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def child_env(bench: str, database: str, pg_default: str) -> dict[str, str]:
    """The environment of the child process that measures ``database`` (``sqlite`` or ``postgres``).

    Its ``BCBRIDGE_HOME`` is ``$BCBRIDGE_HOME/<bench>/<database>`` (kept between runs, so its
    encryption key still decrypts what earlier runs stored in PostgreSQL); PostgreSQL is
    ``DATABASE_URL_POSTGRES`` or ``pg_default``, created when missing; SQLite is the home's file.
    """
    env = dict(os.environ)
    home = Path(os.environ.get("BCBRIDGE_HOME") or tempfile.gettempdir()) / bench / database
    home.mkdir(parents=True, exist_ok=True)
    env["BCBRIDGE_HOME"] = str(home)
    env.pop("DATABASE_URL", None)
    if database == "postgres":
        env["DATABASE_URL"] = os.environ.get("DATABASE_URL_POSTGRES", pg_default)
        pg_database(env["DATABASE_URL"])
    return env
