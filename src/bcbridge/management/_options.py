"""Shared option handling of bcbridge's management commands."""

from __future__ import annotations

from django.core.management.base import CommandError

from bcbridge.models import Connection

__all__ = ["connection_named"]


def connection_named(name: str | None) -> Connection | None:
    """The connection ``--connection NAME`` names, or None when the option was not given.

    Raises:
        CommandError: no connection has that name (the message lists the known ones).
    """
    if not name:
        return None
    connection = Connection.objects.filter(name=name).first()
    if connection is None:
        known = ", ".join(Connection.objects.values_list("name", flat=True)) or "none yet"
        raise CommandError(f"No connection named {name!r} (known: {known}).")
    return connection
