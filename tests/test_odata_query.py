"""OData literals and the immutable query builder."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal

import pytest

from bcbridge.odata import F, Query, literal


class Status(enum.Enum):
    OPEN = "Open"
    IN_REVIEW = "In Review"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("CRONUS", "'CRONUS'"),
        ("O'Neil", "'O''Neil'"),
        ("", "''"),
        (uuid.UUID("fca5738a-44e3-ea11-bb43-000d3a2feca1"), "fca5738a-44e3-ea11-bb43-000d3a2feca1"),
        (dt.date(2019, 5, 1), "2019-05-01"),
        (dt.datetime(2019, 8, 18, 20, 5, 51, 603000, tzinfo=dt.UTC), "2019-08-18T20:05:51.603Z"),
        (dt.datetime(2019, 8, 18, 20, 5, 51, tzinfo=dt.UTC), "2019-08-18T20:05:51.000Z"),
        (
            dt.datetime(2019, 8, 18, 22, 5, 51, 603999, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2019-08-18T20:05:51.603Z",
        ),
        (42, "42"),
        (-1.5, "-1.5"),
        (Decimal("1000.80"), "1000.80"),
        (Decimal("1E+3"), "1000"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        (Status.IN_REVIEW, "'In Review'"),
    ],
)
def test_literal(value, expected):
    assert literal(value) == expected


def test_literal_refusals():
    with pytest.raises(ValueError, match="naive"):
        literal(dt.datetime(2020, 1, 1))
    with pytest.raises(ValueError, match="no OData literal"):
        literal(float("nan"))
    with pytest.raises(TypeError):
        literal(object())


def test_comparisons_and_functions():
    since = dt.datetime(2019, 8, 18, 20, 5, 51, 603000, tzinfo=dt.UTC)
    assert str(F("lastModifiedDateTime") > since) == "lastModifiedDateTime gt 2019-08-18T20:05:51.603Z"
    assert str(F("number") == "1000") == "number eq '1000'"
    assert str(F("blocked") != True) == "blocked ne true"  # noqa: E712
    assert str(F("unitPrice") >= Decimal("9.99")) == "unitPrice ge 9.99"
    assert str(F("inventory") < 5) == "inventory lt 5"
    assert str(F("inventory") <= 5) == "inventory le 5"
    assert str(F("number").startswith("1")) == "startswith(number,'1')"
    assert str(F("displayName").endswith("x")) == "endswith(displayName,'x')"
    assert str(F("displayName").contains("it's")) == "contains(displayName,'it''s')"
    assert str(F("displayName").tolower() == "bike") == "tolower(displayName) eq 'bike'"
    assert str(F("number").in_(["1", "2"])) == "number in ('1','2')"
    assert str(F("customer/number") == "C1") == "customer/number eq 'C1'"


def test_composition_parenthesizes_or_inside_and():
    a, b, c = F("a") == 1, F("a") == 2, F("b") == 3
    assert str(a | b) == "a eq 1 or a eq 2"
    assert str((a | b) & c) == "(a eq 1 or a eq 2) and b eq 3"
    assert str(a & b | c) == "a eq 1 and a eq 2 or b eq 3"
    assert str(~a) == "not (a eq 1)"
    assert str(~(a | b) & c) == "not (a eq 1 or a eq 2) and b eq 3"


def test_field_names_cannot_carry_syntax():
    with pytest.raises(ValueError, match="field name"):
        F("number eq '1' or true")
    with pytest.raises(ValueError, match="field name"):
        Query().select("id,number")
    with pytest.raises(ValueError, match=r"\$orderby"):
        Query().orderby("number sideways")


def test_query_is_immutable_and_renders_all_options():
    base = Query().select("id", "number")
    q = (
        base.filter(F("lastModifiedDateTime") > dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        .filter(F("type") == "Inventory")
        .expand("itemCategory", itemVariants=Query().select("code").filter(F("code") != ""))
        .orderby("number", "-lastModifiedDateTime")
        .top(10)
        .skip(20)
        .count()
    )
    assert base.params() == {"$select": "id,number"}
    assert q.params() == {
        "$filter": "lastModifiedDateTime gt 2020-01-01T00:00:00.000Z and type eq 'Inventory'",
        "$select": "id,number",
        "$expand": "itemCategory,itemVariants($filter=code ne '';$select=code)",
        "$orderby": "number,lastModifiedDateTime desc",
        "$top": "10",
        "$skip": "20",
        "$count": "true",
    }
    assert str(Query().filter(F("a") == "x y").top(1)) == "$filter=a%20eq%20'x%20y'&$top=1"


def test_multiple_filters_keep_or_grouped_and_raw_strings_wrapped():
    q = Query().filter((F("a") == 1) | (F("a") == 2), "b eq 3 or b eq 4")
    assert q.filter_text == "(a eq 1 or a eq 2) and (b eq 3 or b eq 4)"


def test_schema_version_and_params():
    q = Query().filter(F("number").in_(["1"])).schema_version().param("company", "CRONUS")
    assert q.params()["$schemaversion"] == "2.1"
    assert q.params()["company"] == "CRONUS"
    with pytest.raises(ValueError, match=r"\$top"):
        Query().top(-1)
    with pytest.raises(ValueError, match=r"\$skip"):
        Query().skip(True)
