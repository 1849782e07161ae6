"""Business Central activity for the demo: what people do in BC while bcbridge watches.

Changes go straight into the emulator, as a BC user's would (new items, price changes,
sales invoices with lines, a shipment posted from an order, deletions), so they reach
bcbridge the way real changes do: as webhook notifications, and in the next poll.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

import httpx

from bcbridge.emulator import Emulator

__all__ = ["Activity", "new_item_name", "simulate"]


#: kind -> (one, many): how each change reads in the demo's output
_WORDS = {
    "items created": ("item created", "items created"),
    "prices changed": ("item price changed", "item prices changed"),
    "sales invoices with lines": ("sales invoice with lines", "sales invoices with lines"),
    "orders shipped and invoiced": ("sales order shipped and invoiced", "sales orders shipped and invoiced"),
    "customers deleted": ("customer deleted", "customers deleted"),
}
_PRODUCTS = ("Desk", "Bookcase", "Swivel Chair", "Lamp", "Filing Cabinet", "Whiteboard", "Sofa", "Conference Table")
_FINISHES = ("walnut", "oak", "black", "white", "grey", "green", "blue", "red")


@dataclass
class Activity:
    """What :func:`simulate` changed, by kind (each kind counts BC records)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, n: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n

    def __str__(self) -> str:
        parts = []
        for kind, n in self.counts.items():
            one, many = _WORDS.get(kind, (kind, kind))
            parts.append(f"{n} {one if n == 1 else many}")
        return ", ".join(parts)


def new_item_name(seed: int, index: int) -> str:
    """A name no earlier round used: ``"DEMO Sofa 7.2, oak"`` (round 7, third item)."""
    rng = random.Random(seed * 31 + index)
    return f"DEMO {rng.choice(_PRODUCTS)} {seed}.{index}, {rng.choice(_FINISHES)}"


def _records(emulator: Emulator, company_id: str, entity_set: str, n: int, skip: int = 0) -> list[dict]:
    return [record for _, record in itertools.islice(emulator.bc.store.iter(company_id, entity_set), skip, skip + n)]


def simulate(emulator: Emulator, company_id: str, *, seed: int = 7, rounds: int = 1) -> Activity:
    """Make a realistic burst of BC changes in one company; returns what was done.

    Each ``seed`` gives new item names (the running demo passes its round number), so the
    item list does not fill with identical names.
    """
    rng = random.Random(seed)
    activity = Activity()
    items = _records(emulator, company_id, "items", 40)
    customers = _records(emulator, company_id, "customers", 20)
    for round_no in range(rounds):
        for i in range(3):
            emulator.bc.create(
                company_id,
                "items",
                {
                    "displayName": new_item_name(seed + round_no, i),
                    "type": "Inventory",
                    "unitPrice": round(rng.uniform(100, 900), 2),
                    "baseUnitOfMeasureCode": "PCS",
                },
            )
            activity.add("items created")
        for item in rng.sample(items, 5):
            emulator.bc.change(
                company_id, "items", item["id"], {"unitPrice": round(item["unitPrice"] * rng.uniform(0.9, 1.2), 2)}
            )
            activity.add("prices changed")
        for _ in range(2):
            customer = rng.choice(customers)
            lines = [
                {"lineType": "Item", "itemId": item["id"], "quantity": rng.randint(1, 5)}
                for item in rng.sample(items, 3)
            ]
            emulator.bc.create(company_id, "salesInvoices", {"customerId": customer["id"], "salesInvoiceLines": lines})
            activity.add("sales invoices with lines")
        if _ship_an_order(emulator, company_id, skip=round_no):
            activity.add("orders shipped and invoiced")
        victim = _records(emulator, company_id, "customers", 1, skip=60 + round_no)
        if victim:
            emulator.bc.delete(company_id, "customers", victim[0]["id"])
            activity.add("customers deleted")
    return activity


def _ship_an_order(emulator: Emulator, company_id: str, skip: int) -> bool:
    """Post an open order with ``Microsoft.NAV.shipAndInvoice``, through the API as a BC user
    would: a posted shipment and invoice with lines appear, the order goes away."""
    open_orders = [o for _, o in emulator.bc.store.iter(company_id, "salesOrders") if not o.get("fullyShipped")]
    if len(open_orders) <= skip:
        return False
    order = open_orders[-1 - skip]
    identity = emulator.identity
    token, _ = identity.issue_access_token(identity.user_subject(), delegated=True)
    config = emulator.config
    url = (
        f"{config.base_url}/v2.0/{config.tenant}/{config.environment}/api/v2.0/"
        f"companies({company_id})/salesOrders({order['id']})/Microsoft.NAV.shipAndInvoice"
    )
    with httpx.Client(transport=emulator.transport()) as client:
        answer = client.post(url, headers={"Authorization": f"Bearer {token}"})
    return answer.status_code == 204
