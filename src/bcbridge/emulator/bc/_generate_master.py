"""Generators of reference tables and master data (items, customers, vendors, employees).

Every builder returns a fresh dict whose keys are the entity's fields in entities.json
order (a test checks this for every set).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bcbridge.emulator.bc import _catalog as cat
from bcbridge.emulator.bc._ids import format_ms, guid
from bcbridge.emulator.bc.data import SPREAD_MS, BaseSet, EmptySet, LinesSet, number_finder
from bcbridge.emulator.bc.schema import BLANK_DATE, BLANK_GUID

if TYPE_CHECKING:
    from bcbridge.emulator.bc.data import CompanyData

__all__ = ["item_number", "register"]


def item_number(index: int) -> str:
    return f"1{index:06d}"


def _table(cd: CompanyData, name: str, rows: list[dict]) -> BaseSet:
    return cd.add(BaseSet(name, len(rows), cd.salt(name), lambda i: dict(rows[i])))


def ref(cd: CompanyData, name: str, index: int) -> str:
    """The id of record ``index`` of reference set ``name`` (blank GUID for ``-1``)."""
    return BLANK_GUID if index < 0 else guid(cd.salt(name), index)


def _reference_tables(cd: CompanyData) -> None:
    def rows(name: str, items: tuple, make) -> None:  # type: ignore[no-untyped-def]
        s = cd.salt(name)
        _table(cd, name, [{"id": guid(s, i), **make(row), "lastModifiedDateTime":
                           cd.modified(s, i)} for i, row in enumerate(items)])

    rows("currencies", cat.CURRENCIES, lambda r: {
        "code": r[0], "displayName": r[1], "symbol": r[2], "amountDecimalPlaces": r[3],
        "amountRoundingPrecision": r[4]})
    rows("paymentTerms", cat.PAYMENT_TERMS, lambda r: {
        "code": r[0], "displayName": r[1], "dueDateCalculation": r[2],
        "discountDateCalculation": r[3], "discountPercent": r[4],
        "calculateDiscountOnCreditMemos": r[5]})
    rows("paymentMethods", cat.PAYMENT_METHODS, lambda r: {"code": r[0], "displayName": r[1]})
    rows("shipmentMethods", cat.SHIPMENT_METHODS, lambda r: {"code": r[0], "displayName": r[1]})
    rows("unitsOfMeasure", cat.UNITS, lambda r: {
        "code": r[0], "displayName": r[1], "internationalStandardCode": r[2], "symbol": r[3]})
    rows("itemCategories", cat.ITEM_CATEGORIES, lambda r: {"code": r[0], "displayName": r[1]})
    s = cd.salt("countriesRegions")
    _table(cd, "countriesRegions", [
        {"id": guid(s, i), "code": r[0], "displayName": r[1], "addressFormat": r[2],
         "lastModifiedDateTime": cd.modified(s, i)} for i, r in enumerate(cat.COUNTRIES)])
    s = cd.salt("taxGroups")
    _table(cd, "taxGroups", [
        {"id": guid(s, i), "code": r[0], "displayName": r[1], "taxType": r[2],
         "lastModifiedDateTime": cd.modified(s, i)} for i, r in enumerate(cat.TAX_GROUPS)])
    rows("locations", cat.LOCATIONS, lambda r: {
        "code": r[0], "displayName": r[1], "contact": "", "addressLine1": "1 Warehouse Road",
        "addressLine2": "", "city": r[2], "state": r[3], "country": "US", "postalCode": r[4],
        "phoneNumber": "", "email": "", "website": ""})
    s, vs = cd.salt("dimensions"), cd.salt("dimensionValues")
    dims: list[dict] = []
    values: list[dict] = []
    for i, (code, name, codes) in enumerate(cat.DIMENSIONS):
        dims.append({"id": guid(s, i), "code": code, "displayName": name,
                     "consolidationCode": "", "lastModifiedDateTime": cd.modified(s, i)})
        for value in codes:
            j = len(values)
            values.append({"id": guid(vs, j), "code": value, "dimensionId": guid(s, i),
                           "displayName": f"{name} {value}", "consolidationCode": "",
                           "lastModifiedDateTime": cd.modified(vs, j)})
    _table(cd, "dimensions", dims)
    counts = [len(d[2]) for d in cat.DIMENSIONS]
    cd.add(LinesSet("dimensionValues", len(dims), vs, counts.__getitem__,
                    lambda i: dict(values[i])))
    s = cd.salt("accounts")
    _table(cd, "accounts", [
        {"id": guid(s, i), "number": r[0], "displayName": r[1], "category": r[2],
         "subCategory": r[3], "blocked": False, "accountType": r[4],
         "directPosting": r[4] == "Posting", "netChange": 0, "consolidationTranslationMethod":
         "Average Rate (Manual)", "consolidationDebitAccount": "",
         "consolidationCreditAccount": "", "excludeFromConsolidation": False,
         "lastModifiedDateTime": cd.modified(s, i)} for i, r in enumerate(cat.ACCOUNTS)])
    s = cd.salt("bankAccounts")
    local = cd.currency
    _table(cd, "bankAccounts", [
        {"id": guid(s, i), "number": r[0], "displayName": r[1],
         "lastModifiedDateTime": cd.modified(s, i), "bankAccountNumber": r[2],
         "blocked": r[3], "currencyCode": "", "currencyId": BLANK_GUID,
         "iban": "" if local == "USD" else f"CA{i:02d}0001{r[2].replace('-', '')}",
         "intercompanyEnabled": False} for i, r in enumerate(cat.BANK_ACCOUNTS)])
    s, bank = cd.salt("journals"), cd.salt("bankAccounts")
    _table(cd, "journals", [
        {"id": guid(s, i), "code": r[0], "displayName": r[1], "templateDisplayName": r[2],
         "lastModifiedDateTime": cd.modified(s, i),
         "balancingAccountId": guid(bank, 0) if r[0] == "CASH" else BLANK_GUID,
         "balancingAccountNumber": "CHECKING" if r[0] == "CASH" else ""}
        for i, r in enumerate(cat.JOURNALS)])


def _address(cd: CompanyData, s, i: int) -> tuple[str, str, str, str, str]:  # type: ignore[no-untyped-def]
    city, state, post = cat.CITIES[s.pick(i, 3, len(cat.CITIES))]
    street = f"{10 + s.pick(i, 4, 980)} {cat.STREETS[s.pick(i, 5, len(cat.STREETS))]}"
    country = "CA" if state in ("ON", "BC", "QC") else "US"
    return street, city, state, country, post


def _items(cd: CompanyData) -> None:
    s = cd.salt("items")
    n_cat, n_prod = len(cat.ITEM_CATEGORIES), len(cat.PRODUCTS)
    cat_index = {c[0]: i for i, c in enumerate(cat.ITEM_CATEGORIES)}
    cat_ids = [ref(cd, "itemCategories", i) for i in range(n_cat)]
    tax_ids = [ref(cd, "taxGroups", i) for i in range(len(cat.TAX_GROUPS))]
    pcs, box = ref(cd, "unitsOfMeasure", 0), ref(cd, "unitsOfMeasure", 1)
    anchor, h_of = cd.anchor - 1, s.h
    n_city, n_colour = len(cat.CITY_WORDS), len(cat.COLOURS)
    # Built once: this function runs 20,000 times per page.
    names = [[[f"{city} {product}, {colour}" for colour in cat.COLOURS]
              for city in cat.CITY_WORDS] for product, _ in cat.PRODUCTS]
    categories = [(category, cat_ids[cat_index[category]]) for _, category in cat.PRODUCTS]

    def build(i: int) -> dict:
        h = h_of(i, 1)
        p = h % n_prod
        category, category_id = categories[p]
        kind = (h >> 24) % 20
        type_ = "Service" if kind == 0 else ("Non-Inventory" if kind == 1 else "Inventory")
        cost = ((h >> 32) % 90_000 + 500) / 100
        boxed = (h >> 40) % 10 == 0
        return {
            "id": guid(s, i), "number": f"1{i:06d}",
            "displayName": names[p][(h >> 8) % n_city][(h >> 16) % n_colour], "displayName2": "",
            "type": type_, "itemCategoryId": category_id, "itemCategoryCode": category,
            "blocked": (h >> 44) % 50 == 0, "gtin": f"{(h >> 12) % 10**13:013d}",
            "inventory": (h >> 48) % 400 if type_ == "Inventory" else 0,
            "unitPrice": round(cost * 1.6, 2), "priceIncludesTax": False, "unitCost": cost,
            "taxGroupId": tax_ids[0], "taxGroupCode": "FURNITURE",
            "baseUnitOfMeasureId": box if boxed else pcs,
            "baseUnitOfMeasureCode": "BOX" if boxed else "PCS",
            "generalProductPostingGroupId": BLANK_GUID, "generalProductPostingGroupCode":
            "RETAIL", "inventoryPostingGroupId": BLANK_GUID,
            "inventoryPostingGroupCode": "RESALE" if type_ == "Inventory" else "",
            "lastModifiedDateTime": format_ms(anchor - h_of(i, 99) % SPREAD_MS),
        }

    items = cd.add(BaseSet("items", cd.volume("items"), s, build))
    items.finders["number"] = number_finder("1", 0)
    vs = cd.salt("itemVariants")

    def variants(p: int) -> int:  # a quarter of the items have 1-3 variants
        h = s.h(p, 2)
        return 0 if h % 4 else 1 + (h >> 8) % 3

    lines: LinesSet

    def build_variant(i: int) -> dict:
        p, k = lines.position(i)
        colour = cat.COLOURS[(s.h(p, 1) >> 16) % len(cat.COLOURS)]
        others = [c for c in cat.COLOURS if c != colour]
        return {"id": guid(vs, i), "itemId": items.key(p), "itemNumber": item_number(p),
                "code": f"{others[k].upper()[:10]}", "description": f"Variant {others[k]}",
                "lastModifiedDateTime": cd.modified(vs, i)}

    lines = LinesSet("itemVariants", items.count, vs, variants, build_variant)
    cd.add(lines)


def party(cd: CompanyData, name: str, i: int) -> dict:
    """Name, address and contact of customer or vendor ``i`` (shared by documents)."""
    s = cd.salt(name)
    h = s.h(i, 1)
    street, city, state, country, post = _address(cd, s, i)
    word = cat.COMPANY_WORDS[h % len(cat.COMPANY_WORDS)]
    suffix = cat.COMPANY_SUFFIX[(h >> 8) % len(cat.COMPANY_SUFFIX)]
    display = f"{word} {suffix}" + (f" {i // len(cat.COMPANY_WORDS) + 1}"
                                    if i >= len(cat.COMPANY_WORDS) else "")
    domain = word.lower().replace(" ", "").replace("'", "")
    prefix = "C" if name == "customers" else "V"
    return {"id": guid(s, i), "number": f"{prefix}{i + 1:06d}", "displayName": display,
            "addressLine1": street, "addressLine2": "", "city": city, "state": state,
            "country": country, "postalCode": post,
            "phoneNumber": f"+1 555 {h % 900 + 100:03d} {(h >> 12) % 10000:04d}",
            "email": f"info{i + 1}@{domain}.example.com",
            "website": f"www.{domain}.example.com", "h": h}


def _customers(cd: CompanyData) -> None:
    s = cd.salt("customers")
    terms = [ref(cd, "paymentTerms", i) for i in range(len(cat.PAYMENT_TERMS))]
    ships = [ref(cd, "shipmentMethods", i) for i in range(len(cat.SHIPMENT_METHODS))]
    methods = [ref(cd, "paymentMethods", i) for i in range(len(cat.PAYMENT_METHODS))]
    eur = ref(cd, "currencies", 1)

    def build(i: int) -> dict:
        p = party(cd, "customers", i)
        h = p.pop("h")
        foreign = h % 10 == 0
        return {
            "id": p["id"], "number": p["number"], "displayName": p["displayName"],
            "type": "Person" if (h >> 4) % 8 == 0 else "Company",
            "addressLine1": p["addressLine1"], "addressLine2": "", "city": p["city"],
            "state": p["state"], "country": p["country"], "postalCode": p["postalCode"],
            "phoneNumber": p["phoneNumber"], "email": p["email"], "website": p["website"],
            "salespersonCode": ("JO", "OF", "PS")[(h >> 6) % 3],
            "balanceDue": round((h >> 20) % 2_000_000 / 100, 2),
            "creditLimit": ((h >> 30) % 10) * 5000, "taxLiable": True,
            "taxAreaId": BLANK_GUID, "taxAreaDisplayName": "",
            "taxRegistrationNumber": "",
            "currencyId": eur if foreign else BLANK_GUID, "currencyCode": "EUR" if foreign else "",
            "paymentTermsId": terms[(h >> 36) % len(terms)],
            "shipmentMethodId": ships[(h >> 40) % len(ships)],
            "paymentMethodId": methods[(h >> 44) % len(methods)],
            "blocked": " " if (h >> 48) % 40 else "Ship",
            "lastModifiedDateTime": cd.modified(s, i),
        }

    customers = cd.add(BaseSet("customers", cd.volume("customers"), s, build))
    customers.finders["number"] = number_finder("C", 1)


def _vendors(cd: CompanyData) -> None:
    s = cd.salt("vendors")
    terms = [ref(cd, "paymentTerms", i) for i in range(len(cat.PAYMENT_TERMS))]
    methods = [ref(cd, "paymentMethods", i) for i in range(len(cat.PAYMENT_METHODS))]

    def build(i: int) -> dict:
        p = party(cd, "vendors", i)
        h = p.pop("h")
        return {
            "id": p["id"], "number": p["number"], "displayName": p["displayName"],
            "addressLine1": p["addressLine1"], "addressLine2": "", "city": p["city"],
            "state": p["state"], "country": p["country"], "postalCode": p["postalCode"],
            "phoneNumber": p["phoneNumber"], "email": p["email"], "website": p["website"],
            "taxRegistrationNumber": "", "currencyId": BLANK_GUID, "currencyCode": "",
            "irs1099Code": "", "paymentTermsId": terms[(h >> 36) % len(terms)],
            "paymentMethodId": methods[(h >> 44) % len(methods)], "taxLiable": True,
            "blocked": " " if (h >> 48) % 40 else "Payment",
            "balance": round((h >> 20) % 1_000_000 / 100, 2),
            "lastModifiedDateTime": cd.modified(s, i),
        }

    vendors = cd.add(BaseSet("vendors", cd.volume("vendors"), s, build))
    vendors.finders["number"] = number_finder("V", 1)


def _employees(cd: CompanyData) -> None:
    s = cd.salt("employees")

    def build(i: int) -> dict:
        h = s.h(i, 1)
        given, surname = cat.GIVEN[h % len(cat.GIVEN)], cat.SURNAMES[(h >> 8) % len(cat.SURNAMES)]
        street, city, state, country, post = _address(cd, s, i)
        terminated = (h >> 16) % 15 == 0
        return {
            "id": guid(s, i), "number": f"E{i + 1:04d}", "displayName": f"{given} {surname}",
            "givenName": given, "middleName": "", "surname": surname,
            "jobTitle": cat.JOBS[(h >> 20) % len(cat.JOBS)], "addressLine1": street,
            "addressLine2": "", "city": city, "state": state, "country": country,
            "postalCode": post, "phoneNumber": "", "mobilePhone": f"+1 555 01{i % 100:02d}",
            "email": f"{given.lower()}.{surname.lower()}@cronus.example.com",
            "personalEmail": "", "employmentDate": cd.date(s, i, 11, 3000),
            "terminationDate": cd.date(s, i, 12, 100) if terminated else BLANK_DATE,
            "status": "Terminated" if terminated else "Active",
            "birthDate": cd.date(s, i, 13, 15000), "statisticsGroupCode": "",
            "bankBranchNumber": "", "bankAccountNumber": "", "iban": "",
            "lastModifiedDateTime": cd.modified(s, i),
        }

    employees = cd.add(BaseSet("employees", cd.volume("employees"), s, build))
    ts = cd.salt("timeRegistrationEntries")
    per = max(1, round(cd.volume("timeRegistrationEntries") / max(1, employees.count)))
    hour = ref(cd, "unitsOfMeasure", 2)
    lines: LinesSet

    def build_entry(i: int) -> dict:
        p, k = lines.position(i)
        return {"employeeId": employees.key(p), "employeeNumber": f"E{p + 1:04d}",
                "jobId": BLANK_GUID, "jobNumber": "", "jobTaskNumber": "", "absence": "",
                "lineNumber": (k + 1) * 10000, "date": cd.date(ts, i, 14, 30),
                "quantity": 4 + ts.h(i, 15) % 5, "status": ("Open", "Submitted", "Approved")[
                    ts.h(i, 16) % 3], "unitOfMeasureId": hour, "unitOfMeasureCode": "HOUR",
                "id": guid(ts, i), "lastModfiedDateTime": cd.modified(ts, i)}

    lines = LinesSet("timeRegistrationEntries", employees.count, ts,
                     lambda p: per if cd.demo else 0, build_entry)
    cd.add(lines)


def register(cd: CompanyData) -> None:
    """Add the reference tables and master data of ``cd``."""
    _reference_tables(cd)
    _items(cd)
    _customers(cd)
    _vendors(cd)
    _employees(cd)
    for name in ("items", "customers", "vendors"):
        if name not in cd.sets:  # pragma: no cover - defensive
            cd.add(EmptySet(name, cd.salt(name)))
