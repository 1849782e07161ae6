"""``$expand`` of API v2.0 entities (docs/bc/3-odata-queries.md §3).

Three kinds of navigation: containment (``salesOrderLines`` of a sales order: a list, with
nested ``$select``/``$filter``/``$expand``/``$top``/``$orderby``), a lookup through a foreign key
(``customer`` of a document, ``item``/``location`` of a line: one entity or ``null``), and
the ``picture`` of items, customers, vendors and employees (:mod:`.pictures`), and
navigations the emulator does not serve (``dimensionSetLines``, ...: ``null`` or
``[]``, as for a record without them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bcbridge.emulator.bc import odata, pictures
from bcbridge.emulator.bc.schema import BLANK_GUID, EntitySet, schema

if TYPE_CHECKING:
    from bcbridge.emulator.bc import BusinessCentral

__all__ = ["expand", "expandable"]


def expandable(es: EntitySet) -> list[str]:
    """Navigation names ``$expand`` accepts on ``es``."""
    names = list(es.children) + list(es.lookups)
    names += [n.name for n in es.navigation if n.name not in names]
    return names


def _nested_select(item: odata.Expand) -> list[str] | None:
    names = [name.strip() for name in item.options.get("$select", "").split(",") if name.strip()]
    return names or None


def _types(es: EntitySet) -> dict[str, str]:
    return {f.name: f.type for f in es.fields}


def _nested(bc: BusinessCentral, es: EntitySet, item: odata.Expand) -> odata.QueryOptions:
    return odata.parse_options(item.options, _types(es), entity_type=f"Microsoft.NAV.{es.entity}",
                               navigations=expandable(es),
                               reject_or_across_fields=bc.emulator.config.reject_or_across_fields)


def _body(bc: BusinessCentral, company_id: str, es: EntitySet, ordinal: int, record: dict,
          options: odata.QueryOptions) -> dict:
    body = {"@odata.etag": bc.store.etag_of(company_id, es.name, ordinal, record), **record}
    if options.expand:
        expand(bc, company_id, es, body, options)
    return odata.project(body, options.select, ("@odata.etag", *[e.name for e in options.expand]))


def expand(bc: BusinessCentral, company_id: str, es: EntitySet, entity: dict,
           options: odata.QueryOptions) -> None:
    """Add every ``$expand`` navigation of ``options`` to ``entity`` (in place)."""
    store = bc.store
    for item in options.expand:
        if item.name in es.children:
            child = schema()[es.children[item.name]]
            nested = _nested(bc, child, item)
            rows = store.iter(company_id, child.name, parent_key=entity["id"])
            page = odata.run_query(lambda start, rows=list(rows): [r for r in rows
                                                                   if r[0] >= start],
                                   nested, page_size=10**9, types=_types(child))
            entity[item.name] = [_body(bc, company_id, child, o, r, nested)
                                 for o, r in page.rows]
        elif item.name in es.lookups:
            fk, target_set = es.lookups[item.name]
            target = schema()[target_set]
            key = str(entity.get(fk) or BLANK_GUID)
            ordinal = store.ordinal(company_id, target_set, key) if key != BLANK_GUID else None
            record = store.get(company_id, target_set, key) if ordinal is not None else None
            entity[item.name] = None if record is None or ordinal is None else _body(
                bc, company_id, target, ordinal, record, _nested(bc, target, item))
        elif item.name == "picture" and es.name in pictures.PARENTS:
            # the picture entity (resources/dynamics_picture), without its media links
            # (UNVERIFIED: whether BC adds them inside $expand)
            picture = pictures.describe(bc, company_id, es.name, str(entity["id"]))
            entity[item.name] = odata.project(picture, _nested_select(item), ("@odata.etag",))
        else:
            nav = next(n for n in es.navigation if n.name == item.name)
            entity[item.name] = [] if nav.many else None
