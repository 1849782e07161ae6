"""Which connection and company a call is about: the parameters, else the key's company, else
the only connection and its selected company."""

from __future__ import annotations

import uuid

from bcbridge.api.auth import Principal
from bcbridge.api.problems import Problem
from bcbridge.models import Company, Connection

__all__ = ["resolve_company"]


def _connection(name: str | None) -> Connection:
    if name:
        found = Connection.objects.filter(name=name).first()
        if found is None:
            known = ", ".join(Connection.objects.values_list("name", flat=True)) or "none"
            raise Problem(404, "not_found", f"No connection {name!r} (known: {known}).")
        return found
    rows = list(Connection.objects.filter(enabled=True)[:2])
    if len(rows) != 1:
        raise Problem(
            400,
            "ambiguous_company",
            f"There are {'several' if rows else 'no'} enabled connections: pass connection=<name>.",
        )
    return rows[0]


def resolve_company(caller: Principal, connection: str | None, company: str | None) -> Company:
    """The :class:`~bcbridge.models.Company` of a call.

    Args:
        caller: The authenticated caller (its key may be limited to one company).
        connection: Connection name, or ``None``.
        company: Company id (GUID) or name, or ``None``.

    Raises:
        Problem: 400 ``ambiguous_company``, 403 ``company_forbidden``, 404 ``not_found``.
    """
    if caller.company is not None and connection is None and company is None:
        return caller.company
    conn = caller.company.connection if caller.company is not None and connection is None else _connection(connection)
    rows = Company.objects.filter(connection=conn, present=True).select_related("connection")
    if company:
        try:
            found = rows.filter(bc_id=uuid.UUID(company)).first()
        except ValueError:
            found = next((c for c in rows if company.lower() in {c.name.lower(), c.display_name.lower()}), None)
        if found is None:
            raise Problem(404, "not_found", f"No company {company!r} on connection {conn.name!r}.")
    else:
        listed = list(rows)
        selected = [c for c in listed if c.selected]
        chosen = selected if len(selected) == 1 else listed if len(listed) == 1 else []
        if not chosen:
            raise Problem(
                400,
                "ambiguous_company",
                f"Connection {conn.name!r} has {len(listed)} companies ({len(selected)} selected): "
                "pass company=<id or name>.",
            )
        found = chosen[0]
    if caller.company is not None and found.pk != caller.company.pk:
        raise Problem(403, "company_forbidden", f"This key may only use company {caller.company.bc_id}.")
    return found
