"""The Business Central side of the emulator: API v2.0 data, URLs, queries and writes.

:class:`BusinessCentral` owns the :class:`~bcbridge.emulator.bc.store.Store` (generated
demo data plus an overlay of changes) and answers every ``/v2.0/`` request
(:mod:`.routes`). Modules: :mod:`.schema` (entities.json), :mod:`.data` and
``_generate_*`` (deterministic demo data), :mod:`.store` (records, ETags, number series,
change listeners), :mod:`.odata` (query options and paging, reusable), :mod:`.reads`,
:mod:`.writes`, :mod:`.metadata`; ``batch``, ``actions``, ``custom`` and ``webservices``
are routed to when present.

Python API (used by the control API): :meth:`~BusinessCentral.reset`,
:meth:`~BusinessCentral.companies`, :meth:`~BusinessCentral.create`,
:meth:`~BusinessCentral.change`, :meth:`~BusinessCentral.delete`,
:meth:`~BusinessCentral.on_change`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bcbridge.emulator.bc import routes, writes
from bcbridge.emulator.bc.data import anchor_ms, build_companies
from bcbridge.emulator.bc.store import ChangeListener, Store

if TYPE_CHECKING:
    from werkzeug.wrappers import Request, Response

__all__ = ["BusinessCentral"]


class BusinessCentral:
    """One BC online environment with its companies.

    Args:
        emulator: The owning :class:`~bcbridge.emulator.app.Emulator` (config, clock,
            identity).

    Attributes:
        store: The records of every company (see :mod:`bcbridge.emulator.bc.store`).
    """

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        self._listeners: list[ChangeListener] = []
        self.store: Store
        self.reset()

    def reset(self, seed: int | None = None) -> None:
        """Rebuild the data deterministically from ``seed`` (default: ``config.seed``).

        Every change is dropped; change listeners stay registered.
        """
        config = self.emulator.config
        if seed is not None:
            config.seed = seed
        anchor = anchor_ms(config.data_anchor, self.emulator.clock.now())
        companies = build_companies(config.seed, config.scale, anchor)
        self.store = Store(companies, self.emulator.clock)
        self.store._listeners = self._listeners  # shared: registrations survive resets

    def companies(self) -> list[dict]:
        """The companies as API v2.0 ``company`` dicts (fields in entities.json order)."""
        return [dict(c.company) for c in self.store.companies.values()]

    def create(self, company_id: str, entity_set: str, body: dict) -> dict:
        """Insert a record as a BC user would: defaults, number series, id/number pairs and
        deep-inserted lines are applied, read-only rules are not checked.

        Returns:
            The stored entity (with ``@odata.etag``).

        Raises:
            BCError: For an unknown company or entity set, or invalid values.
        """
        return writes.create(self, company_id, entity_set, body, enforce_read_only=False)

    def change(self, company_id: str, entity_set: str, key: str, changes: dict) -> dict:
        """Change a record as a BC user would (new ``lastModifiedDateTime`` and ETag)."""
        return writes.change(self, company_id, entity_set, key, changes, enforce_read_only=False)

    def delete(self, company_id: str, entity_set: str, key: str) -> None:
        """Delete a record (a document's lines go with it)."""
        writes.remove(self, company_id, entity_set, key)

    def on_change(self, callback: ChangeListener) -> None:
        """Call ``callback(company_id, entity_set, key, change_type, record_or_None)`` after
        every create (``created``), update (``updated``) and delete (``deleted``); a line
        change also reports ``updated`` for its header."""
        self._listeners.append(callback)

    def handle(self, request: Request) -> Response:
        """Answer one ``/v2.0/...`` request (see :mod:`.routes`)."""
        return routes.handle(self, request)
