"""Which database a command uses, in words (``bcbridge --verbose``, ``bcbridge demo``)."""

from __future__ import annotations

__all__ = ["database_description"]


def database_description() -> str:
    """``"SQLite /path/bcbridge.sqlite3"`` or ``"PostgreSQL user@host:port/name"`` (never a
    password) for the ``default`` database of the loaded settings."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    engine = db["ENGINE"].rsplit(".", 1)[-1]
    if engine == "sqlite3":
        return f"SQLite {db['NAME']}"
    user = f"{db.get('USER')}@" if db.get("USER") else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    vendor = {"postgresql": "PostgreSQL", "mysql": "MySQL"}.get(engine, engine)
    return f"{vendor} {user}{db.get('HOST') or 'localhost'}{port}/{db['NAME']}"
