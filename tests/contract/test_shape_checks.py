"""The comparison helpers themselves: each one must fail on the differences it is meant to catch."""

from __future__ import annotations

import pytest

from ._samples import assert_documented_shape, assert_error_body, load, string_kind

ITEM = load("item_get")["response"]["body"]


def test_the_sample_matches_itself_with_extra_members() -> None:
    actual = {"@odata.etag": 'W/"x"', **ITEM, "generalProductPostingGroupCode": "RETAIL"}
    assert_documented_shape(actual, ITEM)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.pop("gtin"),
        lambda d: d.update(inventory="4"),
        lambda d: d.update(blocked=0),
        lambda d: d.update(itemCategoryId="TABLE"),
        lambda d: d.update(lastModifiedDateTime="2020-08-21 00:24:19"),
    ],
    ids=["missing", "number-as-string", "boolean-as-number", "guid-as-text", "datetime-without-z"],
)
def test_differences_fail(change: object) -> None:
    actual = dict(ITEM)
    change(actual)  # type: ignore[operator]
    with pytest.raises(AssertionError):
        assert_documented_shape(actual, ITEM)


def test_order_is_checked() -> None:
    keys = list(ITEM)
    keys[1], keys[2] = keys[2], keys[1]
    with pytest.raises(AssertionError, match="order"):
        assert_documented_shape({k: ITEM[k] for k in keys}, ITEM)


def test_string_kinds() -> None:
    assert string_kind("00000000-0000-0000-0000-000000000000") == "guid"
    assert string_kind("0001-01-01") == "date"
    assert string_kind("2023-09-02T17:49:38.5Z") == "datetime"
    assert string_kind("2018-10-29T07:52:31Z") == "datetime"
    assert string_kind(" ") == "text"


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"code": "Request_EntityChanged", "message": "Another user has already changed the record."}},
        {
            "error": {
                "code": "Request_EntityChanged",
                "message": "Another user has already changed the record. CorrelationId: x.",
            }
        },
        {"error": {"code": "Unknown", "message": "Another user has already changed the record.  CorrelationId:  x."}},
        {"error": {"code": "Request_EntityChanged", "message": "x  CorrelationId:  x."}},
        {
            "error": {
                "code": "Request_EntityChanged",
                "message": "Another user has already changed the record.  CorrelationId:  x.",
                "target": "x",
            }
        },
    ],
    ids=["no-correlation", "single-spaces", "wrong-code", "wrong-message", "extra-member"],
)
def test_error_body_differences_fail(body: dict[str, object]) -> None:
    with pytest.raises(AssertionError):
        assert_error_body(body, "Request_EntityChanged", "Another user has already changed the record.")
