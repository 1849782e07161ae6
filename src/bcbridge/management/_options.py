"""Shared option handling of bcbridge's management commands.

Every helper raises :class:`~django.core.management.base.CommandError` with one sentence
that names the fix (the known names, the option to use), so ``bcbridge`` prints one line.
"""

from __future__ import annotations

import difflib
from typing import Any

from django.core.management.base import CommandError

from bcbridge.models import Company, Connection, SyncConfig

__all__ = [
    "check_entity_sets",
    "company_named",
    "connection_named",
    "intermixed",
    "known_entity_sets",
    "the_connection",
]


def connection_named(name: str | None) -> Connection | None:
    """The connection ``--connection NAME`` names, or None when the option was not given.

    Raises:
        CommandError: no connection has that name (the message lists the known ones).
    """
    if not name:
        return None
    connection = Connection.objects.filter(name=name).first()
    if connection is None:
        known = ", ".join(Connection.objects.order_by("name").values_list("name", flat=True)) or "none yet"
        hint = "" if known != "none yet" else "; create one with `bcbridge connect NAME ...`"
        raise CommandError(f"No connection named {name!r} (known: {known}){hint}.")
    return connection


def the_connection(name: str | None) -> Connection:
    """``--connection NAME``'s connection, or the only one when the option was not given.

    Raises:
        CommandError: unknown name, or no/several connections and no ``--connection``.
    """
    if name:
        return connection_named(name)  # type: ignore[return-value]
    names = list(Connection.objects.order_by("name").values_list("name", flat=True)[:20])
    if len(names) == 1:
        return Connection.objects.get(name=names[0])
    if not names:
        raise CommandError("There is no connection yet: create one with `bcbridge connect NAME ...`.")
    raise CommandError(f"Pass --connection NAME (one of: {', '.join(names)}).")


def company_named(connection: Connection, wanted: str | None) -> Company:
    """The company of ``connection`` that ``--company`` names (id, name or display name, any
    case), or its only selected company when ``wanted`` is empty.

    Raises:
        CommandError: no such company, or several selected and no ``--company`` (the
            message lists the companies).
    """
    present = list(connection.companies.filter(present=True).order_by("name"))
    listing = ", ".join(repr(c.name) for c in present) or "none loaded"
    if wanted:
        key = wanted.lower()
        for company in present:
            if key in {str(company.bc_id).lower(), company.name.lower(), company.display_name.lower()}:
                return company
        raise CommandError(f"Connection {connection.name!r} has no company {wanted!r} (companies: {listing}).")
    selected = [c for c in present if c.selected]
    if len(selected) == 1:
        return selected[0]
    if not present:
        raise CommandError(
            f"Connection {connection.name!r} has no companies loaded: run `bcbridge connect {connection.name}`."
        )
    raise CommandError(f"Pass --company NAME ({len(selected)} of {connection.name!r}'s are selected: {listing}).")


def known_entity_sets(connection: Connection | None = None) -> list[str]:
    """Entity set names ``sync``/``reconcile`` accept: BC's API v2.0 sets (the catalog), the
    typed mirrors and any set configured on ``connection`` (or any connection)."""
    from bcbridge.entities.catalog import catalog
    from bcbridge.sync.registry import registered

    names = set(catalog()) | {entity_set for _, entity_set in registered()}
    configs = SyncConfig.objects.all() if connection is None else SyncConfig.objects.filter(connection=connection)
    names |= set(configs.values_list("entity_set", flat=True))
    return sorted(names)


def check_entity_sets(connection: Connection | None, wanted: list[str]) -> None:
    """Refuse names that are not entity sets, before anything is synced or stored.

    Raises:
        CommandError: ``Unknown entity set 'itemz' (did you mean items?); known: ...``.
    """
    known = known_entity_sets(connection)
    unknown = [name for name in wanted if name not in known]
    if not unknown:
        return
    name = unknown[0]
    close = difflib.get_close_matches(name, known, n=3)
    guess = f" (did you mean {', '.join(close)}?)" if close else ""
    raise CommandError(
        f"Unknown entity set {name!r}{guess}. Known: {', '.join(known)}. "
        "A custom API or web service set needs a sync configuration first (admin: Sync configurations)."
    )


def intermixed(parser: Any) -> Any:
    """Let options sit between positional arguments (``webhooks subscribe --connection X
    items`` as well as ``subscribe items --connection X``)."""
    parser.parse_args = parser.parse_intermixed_args
    return parser
