"""How the admin shows BC's numbers and field names (issue 14, item 4)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bcbridge.admin._display import badge, format_amount, format_quantity, format_unit_amount
from bcbridge.models import Item
from bcbridge.models.mirror import human_name


@pytest.mark.unverified  # BC's default rounding precisions (General Ledger Setup) are not in docs/bc
@pytest.mark.parametrize(
    ("value", "amount", "unit", "quantity"),
    [
        (Decimal("201.0600000000"), "201.06", "201.06", "201.06"),
        (Decimal("0E-10"), "0.00", "0.00", "0"),
        (Decimal("1234567.5"), "1,234,567.50", "1,234,567.50", "1,234,567.5"),
        (Decimal("12.345678"), "12.35", "12.34568", "12.34568"),
        (Decimal("-3.005"), "-3.01", "-3.005", "-3.005"),
    ],
)
def test_numbers_with_bc_precision_and_thousands_separators(value, amount, unit, quantity):
    assert format_amount(value) == amount
    assert format_unit_amount(value) == unit
    assert format_quantity(value) == quantity
    assert format_amount(None) == format_quantity(None) == ""


@pytest.mark.parametrize(
    ("bc_name", "caption"),
    [
        # the issue's own examples, and BC's captions ("No.", BC's page captions)
        ("displayName", "Display name"),
        ("unitPrice", "Unit price"),
        ("lastModifiedDateTime", "Last modified"),
        ("number", "No."),
        ("externalDocumentNumber", "External document no."),
        ("taxAreaId", "Tax area ID"),
        ("addressLine1", "Address line 1"),
        ("gtin", "GTIN"),
    ],
)
def test_field_captions(bc_name, caption):
    assert human_name(bc_name) == caption


def test_mirrored_fields_keep_bc_name():
    field = Item._meta.get_field("display_name")
    assert field.verbose_name == "Display name" and field.bc_name == "displayName"
    assert str(Item._meta.verbose_name_plural) == "items"
    from bcbridge.models import GeneralLedgerEntry, SalesInvoiceLine

    assert str(GeneralLedgerEntry._meta.verbose_name_plural) == "general ledger entries"
    assert str(SalesInvoiceLine._meta.verbose_name_plural) == "sales invoice lines"


def test_every_field_has_a_caption_not_a_json_name():
    """No column is labelled with BC's camelCase JSON name ("displayName", "@odata.etag")."""
    import re

    from django.apps import apps

    for model in apps.get_app_config("bcbridge").get_models():
        for name in [str(model._meta.verbose_name_plural)] + [str(f.verbose_name) for f in model._meta.fields]:
            assert not re.fullmatch(r"[a-z]+[A-Z][A-Za-z0-9]*", name) and not name.startswith("@"), (model, name)


def test_badge_shows_words_and_keeps_the_code():
    html = badge("not_authorized", "Not authorized")
    assert ">Not authorized<" in html and 'data-status="not_authorized"' in html
    assert ">Parked<" in badge("parked")
