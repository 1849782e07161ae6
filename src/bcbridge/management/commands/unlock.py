"""``bcbridge unlock [--connection NAME] [--company NAME_OR_ID] (ENTITY_SET ... | --all)``:
release sync locks by hand.

A killed ``bcbridge sync`` holds its sets until the lease (``SYNC_LOCK_LEASE``, 60 s)
expires, or not at all when the next worker runs on the same host (it sees the dead
process). This command frees a set at once, whoever holds it: the holder's ``running``
run becomes ``abandoned``; a holder still alive stops at its next page without writing it.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from bcbridge.management._options import connection_named
from bcbridge.models import SyncState
from bcbridge.sync._state import holder_is_dead, unlock


class Command(BaseCommand):
    help = "Release the sync locks of the named entity sets (or --all locked ones); lists them without arguments."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("entity_sets", nargs="*", metavar="ENTITY_SET", help="e.g. items salesInvoices")
        parser.add_argument("--connection", help="Only this connection's sets.")
        parser.add_argument("--company", help="Only this company (name or BC id).")
        parser.add_argument("--all", action="store_true", help="Every locked set of the selection.")

    def handle(self, *args: Any, **options: Any) -> None:
        locked = SyncState.objects.exclude(locked_by="").select_related("company").order_by("entity_set")
        connection = connection_named(options["connection"])
        if connection is not None:
            locked = locked.filter(connection=connection)
        if options["company"]:
            value = options["company"]
            locked = locked.filter(Q(company__name=value) | Q(company__bc_id__iexact=value))
        if options["entity_sets"]:
            locked = locked.filter(entity_set__in=options["entity_sets"])
        elif not options["all"]:
            for state in locked:
                dead = " (its process is gone)" if holder_is_dead(state.locked_by) else ""
                self.stdout.write(
                    f"{state.entity_set} of {state.company}: held by {state.locked_by}{dead} "
                    f"until {state.locked_until or '?'} UTC"
                )
            raise CommandError("Name the entity sets to unlock, or give --all." if locked else "No set is locked.")
        released = unlock(locked, by="bcbridge unlock")
        for state, holder in released:
            self.stdout.write(f"released {state.entity_set} of {state.company} (held by {holder})")
        if not released:
            raise CommandError("None of the selected sets is locked.")
