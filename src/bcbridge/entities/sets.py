"""Everyday access to one entity set of one company: ``bc.items.list(...)``, ``.get(id)``, ...

Source of the URL shapes, status codes and ETag rules: docs/bc/2-urls.md §2.1, §2.4, §4, §10.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from bcbridge.odata import Filter, Query, iter_pages, iter_records

if TYPE_CHECKING:
    from bcbridge.entities import BC

__all__ = ["EntitySetClient"]


class EntitySetClient:
    """CRUD and bound actions on ``companies({company_id})/{entity_set}``.

    Args:
        bc: The connection facade.
        company_id: The company's systemId.
        entity_set: e.g. ``items``; custom APIs pass ``api={"publisher", "group", "version"}``.
    """

    def __init__(self, bc: BC, company_id: str | uuid.UUID, entity_set: str, **api: str) -> None:
        self.bc = bc
        self.company_id = str(company_id)
        self.entity_set = entity_set
        self.api = api

    @property
    def url(self) -> str:
        return self.bc.urls.entity_set(self.company_id, self.entity_set, **self.api)

    def record_url(self, key: Any) -> str:
        return self.bc.urls.entity_set(self.company_id, self.entity_set, key, **self.api)

    def query(
        self,
        filter: Filter | str | None = None,
        select: list[str] | tuple[str, ...] | None = None,
        expand: list[str] | tuple[str, ...] | None = None,
        orderby: list[str] | tuple[str, ...] | None = None,
        top: int | None = None,
    ) -> Query:
        query = Query()
        if filter is not None:
            query = query.filter(filter)
        if select:
            query = query.select(*select)
        if expand:
            query = query.expand(*expand)
        if orderby:
            query = query.orderby(*orderby)
        if top is not None:
            query = query.top(top)
        return query

    def list(
        self, filter: Filter | str | None = None, *, page_size: int | None = None, **options: Any
    ) -> Iterator[dict[str, Any]]:
        """Every matching entity, fetched lazily page by page (follows ``@odata.nextLink``).

        Args:
            filter: A :class:`~bcbridge.odata.Filter` (``F("number") > "1000"``) or ``$filter`` text.
            page_size: ``Prefer: odata.maxpagesize`` (BC's maximum is 20,000).
            **options: ``select``, ``expand``, ``orderby`` (lists of names), ``top``.
        """
        return iter_records(self.bc.client, self.url, self.query(filter, **options), page_size)

    def pages(
        self, filter: Filter | str | None = None, *, page_size: int | None = None, **options: Any
    ) -> Iterator[dict[str, Any]]:
        """Like :meth:`list` but yields whole pages (``{"value": [...], "@odata.nextLink"?}``)."""
        return iter_pages(self.bc.client, self.url, self.query(filter, **options), page_size)

    def get(self, key: Any, *, select: list[str] | None = None, expand: list[str] | None = None) -> dict[str, Any]:
        """One entity by key; raises :class:`~bcbridge.exceptions.NotFound` if BC has none."""
        params = self.query(select=select, expand=expand).params()
        result: dict[str, Any] = self.bc.client.get_json(self.record_url(key), params=params)
        return result

    def create(self, data: dict[str, Any]) -> dict[str, Any]:
        """POST (deep insert allowed: nest lines under their navigation name); 201 entity.

        Not retried on an unknown outcome: use the outbox (:mod:`bcbridge.push`) for writes
        that must happen exactly once.
        """
        result: dict[str, Any] = self.bc.client.post_json(self.url, data)
        return result

    def update(self, key: Any, changes: dict[str, Any], *, etag: str) -> dict[str, Any]:
        """PATCH with ``If-Match: etag`` (``"*"`` overwrites blindly); returns the new entity.

        Raises:
            ConcurrencyConflict: the ETag is stale (BC's 409 ``Request_EntityChanged``).
        """
        result: dict[str, Any] = self.bc.client.patch_json(self.record_url(key), changes, etag)
        return result

    def delete(self, key: Any, *, etag: str) -> None:
        """DELETE with ``If-Match: etag`` (204)."""
        self.bc.client.delete(self.record_url(key), etag)

    def action(self, key: Any, name: str) -> Any:
        """POST ``.../{set}({key})/Microsoft.NAV.{name}`` (e.g. ``shipAndInvoice``); BC answers 204."""
        url = self.bc.urls.bound_action(self.company_id, self.entity_set, key, name, **self.api)
        return self.bc.client.post_json(url, None)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.list()

    def __repr__(self) -> str:
        return f"<EntitySetClient {self.entity_set} of company {self.company_id}>"
