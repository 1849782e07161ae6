"""Load the companies of a connection's environment into :class:`~bcbridge.models.Company`."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from bcbridge.entities import BC
from bcbridge.models import Company, Connection

__all__ = ["load_companies", "select_companies"]


def load_companies(connection: Connection, bc: BC | None = None, *, select: list[str] | None = None) -> list[Company]:
    """Fetch ``GET companies`` and upsert them; companies BC no longer lists get ``present=False``.

    Args:
        connection: The connection to load.
        bc: A facade to reuse (default: a new one, closed afterwards).
        select: Company ids or names to mark selected (others keep their selection). When
            nothing is selected yet and BC lists exactly one company, that one is selected.

    Returns:
        The companies BC listed, in BC's order.

    Raises:
        bcbridge.exceptions.BCBridgeError: BC or Entra refused or could not be reached;
            nothing is changed then.
    """
    owned = bc is None
    bc = bc or BC(connection)
    try:
        records = bc.companies()
    finally:
        if owned:
            bc.close()
    now = timezone.now()
    with transaction.atomic():
        seen: list[Company] = []
        for record in records:
            company, _ = Company.objects.update_or_create(
                connection=connection,
                bc_id=record["id"],
                defaults={
                    # A nullable Edm.String may come as null (OData JSON §7.1); store "".
                    "name": record.get("name") or "",
                    "display_name": record.get("displayName") or "",
                    "business_profile_id": record.get("businessProfileId") or "",
                    "system_version": str(record.get("systemVersion") or ""),
                    "present": True,
                    "raw": record,
                    "loaded_at": now,
                },
            )
            seen.append(company)
        connection.companies.exclude(pk__in=[c.pk for c in seen]).update(present=False, selected=False)
        chosen = {c.pk for c in select_companies(connection, select)} if select else set()
        for company in seen:
            company.selected = company.selected or company.pk in chosen
        if len(seen) == 1 and not connection.companies.filter(selected=True).exists():
            seen[0].selected = True
            seen[0].save(update_fields=["selected"])
    return seen


def select_companies(connection: Connection, wanted: list[str]) -> list[Company]:
    """Mark the loaded companies named in ``wanted`` (id, name or display name, any case)
    selected; others keep their selection. Returns the companies selected now."""
    names = {value.lower() for value in wanted}
    chosen = [
        company
        for company in connection.companies.filter(present=True)
        if {str(company.bc_id).lower(), company.name.lower(), company.display_name.lower()} & names
    ]
    Company.objects.filter(pk__in=[c.pk for c in chosen]).update(selected=True)
    return chosen
