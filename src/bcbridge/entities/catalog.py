"""The 35 API v2.0 entity sets bcbridge knows by name (``entities.json``, from the AL pages).

Source: ``bcbridge/data/entities.json``, the one catalogue the emulator reads too (fields in
JSON order, key, containment), and
docs/bc/2-urls.md §2.4 (bound actions) and §6.3 (webhook-capable sets).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["WEBHOOK_ENTITY_SETS", "EntitySetSpec", "FieldSpec", "catalog", "spec"]

#: Entity sets BC sends webhook notifications for (docs/bc/6-webhooks.md §6.3).
WEBHOOK_ENTITY_SETS = frozenset(
    {
        "accounts",
        "companyInformation",
        "countriesRegions",
        "currencies",
        "customerPaymentJournals",
        "customers",
        "dimensions",
        "employees",
        "generalLedgerEntries",
        "itemCategories",
        "items",
        "journals",
        "paymentMethods",
        "paymentTerms",
        "purchaseInvoices",
        "salesCreditMemos",
        "salesInvoices",
        "salesOrders",
        "salesQuotes",
        "shipmentMethods",
        "unitsOfMeasure",
        "vendors",
    }
)

#: Bound actions per entity set (docs/bc/2-urls.md §2.4).
BOUND_ACTIONS: dict[str, tuple[str, ...]] = {
    "salesInvoices": ("post", "postAndSend", "send", "cancel", "cancelAndSend", "makeCorrectiveCreditMemo"),
    "salesOrders": ("shipAndInvoice",),
    "salesQuotes": ("makeInvoice", "makeOrder", "send"),
    "salesCreditMemos": ("post", "postAndSend", "send", "cancel", "cancelAndSend"),
    "purchaseInvoices": ("post",),
    "purchaseOrders": ("receiveAndInvoice",),
    "journals": ("post",),
}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    read_only: bool
    enum: tuple[str, ...] = ()


@dataclass(frozen=True)
class EntitySetSpec:
    """One entity set: its entity name, key, fields in JSON order and contained child sets."""

    name: str
    entity: str
    key: str
    fields: tuple[FieldSpec, ...]
    contained: tuple[str, ...]
    navigation: tuple[dict[str, Any], ...]

    @property
    def webhooks(self) -> bool:
        return self.name in WEBHOOK_ENTITY_SETS

    @property
    def actions(self) -> tuple[str, ...]:
        return BOUND_ACTIONS.get(self.name, ())

    @property
    def modified_field(self) -> str | None:
        """The change-tracking timestamp (note BC's own typo on timeRegistrationEntries)."""
        names = {f.name for f in self.fields}
        for candidate in ("lastModifiedDateTime", "lastModfiedDateTime", "systemModifiedAt"):
            if candidate in names:
                return candidate
        return None


@functools.cache
def catalog() -> dict[str, EntitySetSpec]:
    """Every known entity set by name."""
    # the one catalogue in the package, shared with the emulator (bcbridge/data/entities.json)
    raw = json.loads((Path(__file__).parent.parent / "data" / "entities.json").read_text())
    result: dict[str, EntitySetSpec] = {}
    for name, body in raw.items():
        navigation = tuple(body.get("navigation", []))
        result[name] = EntitySetSpec(
            name=name,
            entity=body["entity"],
            key=body.get("key", "id"),
            fields=tuple(
                FieldSpec(f["name"], f["type"], bool(f.get("readOnly")), tuple(f.get("enum", ())))
                for f in body["fields"]
            ),
            # collection-valued navigations to a known set are contained children
            # (itemVariants of items, salesOrderLines of salesOrders, ...)
            contained=tuple(n["name"] for n in navigation if n.get("cardinality") == "Many" and n.get("target") in raw),
            navigation=navigation,
        )
    return result


def spec(entity_set: str) -> EntitySetSpec:
    """The spec of ``entity_set``.

    Raises:
        KeyError: not one of the known API v2.0 entity sets (custom APIs have no spec here).
    """
    try:
        return catalog()[entity_set]
    except KeyError:
        raise KeyError(f"{entity_set!r} is not a known API v2.0 entity set") from None
