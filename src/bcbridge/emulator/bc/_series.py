"""Number series of the emulated companies (BC "No. Series").

Generated demo records use the first numbers of their set's series (posted sales and
purchase invoices use the *posted* series); new records continue after them. Draft
invoices created through the API start their own series (``S-INV100001``), and posting
(``Microsoft.NAV.post``) takes the next posted number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["SERIES", "first_number", "format_number"]

#: Series name (an entity set, or ``postedSalesInvoices``/``postedPurchaseInvoices``) ->
#: number format of the n-th number (n from 0).
SERIES: dict[str, Callable[[int], str]] = {
    "items": lambda n: f"1{n:06d}",
    "customers": lambda n: f"C{n + 1:06d}",
    "vendors": lambda n: f"V{n + 1:06d}",
    "employees": lambda n: f"E{n + 1:04d}",
    "salesOrders": lambda n: f"S-ORD{101001 + n}",
    "salesInvoices": lambda n: f"S-INV{100001 + n}",
    "postedSalesInvoices": lambda n: f"PS-INV{103001 + n}",
    "salesShipments": lambda n: f"S-SHPT{102001 + n}",
    "purchaseInvoices": lambda n: f"P-INV{107001 + n}",
    "postedPurchaseInvoices": lambda n: f"PP-INV{108001 + n}",
    "salesQuotes": lambda n: f"S-QUO{1001 + n}",
    "salesCreditMemos": lambda n: f"S-CR{104001 + n}",
    "purchaseOrders": lambda n: f"P-ORD{106001 + n}",
    "generalLedgerEntries": lambda n: str(n + 1),
}
# Posted series -> the set whose generated (posted) records used it.
_POSTED = {"postedSalesInvoices": "salesInvoices", "postedPurchaseInvoices": "purchaseInvoices"}


def first_number(series: str, sets: Mapping[str, Any]) -> int:
    """Index of the first free number of ``series`` given a company's generated ``sets``."""
    if series in ("salesInvoices", "purchaseInvoices"):
        return 0  # the generated invoices are posted: drafts have their own series
    base = sets.get(_POSTED.get(series, series))
    return int(base.count) if base is not None else 0


def format_number(series: str, n: int) -> str:
    """The n-th number of ``series`` (unknown series: ``<SERIES>000001``...)."""
    fmt = SERIES.get(series)
    return fmt(n) if fmt else f"{series.upper()[:10]}{n + 1:06d}"
