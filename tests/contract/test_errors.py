"""Error bodies and codes against BC's documented error table (docs/bc §4, §8).

Each case sends the request that provokes one row of the table and checks the HTTP status
(from the HTTP status table), the code and the message, inside the documented body shape.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ._samples import assert_error_body, load

CASES = load("errors")["cases"]


def _first(api: httpx.Client, company_url: str, entity_set: str = "items") -> dict[str, Any]:
    answer = api.get(f"{company_url}/{entity_set}", params={"$top": "1"})
    assert answer.status_code == 200, answer.text
    record: dict[str, Any] = answer.json()["value"][0]
    return record


def test_the_documented_body_shape_is_what_the_helper_checks() -> None:
    sample = load("errors")["body_shape"]
    assert_error_body(
        sample, "Unknown", "'Invalid Type' is not an option. The existing options are: Inventory,Service,Non-Inventory"
    )


def test_post_to_companies_is_not_allowed(api: httpx.Client, prefix: str) -> None:
    case = CASES["post_companies"]
    answer = api.post(f"{prefix}/companies", json=case["request"]["body"])
    assert answer.status_code == case["status"]
    assert_error_body(answer.json(), case["code"], case["message"])
    assert [c["name"] for c in api.get(f"{prefix}/companies").json()["value"]].count("New company") == 0


def test_unknown_segment(api: httpx.Client, company_url: str) -> None:
    case = CASES["unknown_segment"]
    answer = api.get(f"{company_url}/OfficeAppResourceRegistrations")
    assert answer.status_code == case["status"]
    assert_error_body(answer.json(), case["code"], case["message"])


def test_patch_without_if_match(api: httpx.Client, company_url: str) -> None:
    case = CASES["missing_if_match"]
    item = _first(api, company_url)
    answer = api.patch(f"{company_url}/items({item['id']})", json=case["request"]["body"])
    assert answer.status_code == case["status"]
    assert_error_body(answer.json(), case["code"], case["message"])
    unchanged = api.get(f"{company_url}/items({item['id']})").json()
    assert unchanged["displayName"] == item["displayName"]


def test_patch_with_a_stale_etag(api: httpx.Client, company_url: str) -> None:
    case = CASES["stale_etag"]
    item = _first(api, company_url)
    url = f"{company_url}/items({item['id']})"
    first = api.patch(url, json={"displayName": "ATHENS Desk v2"}, headers={"If-Match": item["@odata.etag"]})
    assert first.status_code == 200, first.text  # PATCH answers 200 with the entity (docs/bc §10)
    assert first.json()["@odata.etag"] != item["@odata.etag"]  # every write changes the ETag (§4)
    answer = api.patch(url, json=case["request"]["body"], headers={"If-Match": item["@odata.etag"]})
    assert answer.status_code == case["status"]
    assert_error_body(answer.json(), case["code"], case["message"])
    assert api.get(url).json()["displayName"] == "ATHENS Desk v2"


def test_if_match_star_skips_the_check(api: httpx.Client, company_url: str) -> None:
    """docs/bc §4: 'If-Match: *' is accepted in place of an ETag (modify-data page)."""
    item = _first(api, company_url)
    answer = api.patch(
        f"{company_url}/items({item['id']})", json={"displayName": "Touring Bicycle v2"}, headers={"If-Match": "*"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["displayName"] == "Touring Bicycle v2"


def test_an_invalid_option(api: httpx.Client, company_url: str) -> None:
    case = CASES["option_not_valid"]
    item = _first(api, company_url)
    answer = api.patch(
        f"{company_url}/items({item['id']})", json=case["request"]["body"], headers=case["request"]["headers"]
    )
    assert answer.status_code == case["status"]
    assert_error_body(answer.json(), case["code"], case["message"])


@pytest.mark.unverified
def test_a_missing_key_is_404_bad_request_not_found(api: httpx.Client, company_url: str) -> None:
    """docs/bc §8: which code BC gives a well-formed key that does not exist is not documented;
    404 ``BadRequest_NotFound`` is what is commonly seen."""
    answer = api.get(f"{company_url}/items(00000000-0000-0000-0000-00000000abcd)")
    assert answer.status_code == 404
    body = answer.json()
    assert list(body) == ["error"] and body["error"]["code"] == "BadRequest_NotFound"


def test_no_company_and_no_default(api: httpx.Client, prefix: str, company: dict[str, Any]) -> None:
    """With several companies and none named, BC has no default company (docs/bc §2.1); naming
    one with ``?company=`` (API endpoint structure page) makes the same request work."""
    case = CASES["no_company"]
    answer = api.get(f"{prefix}/items", params={"$top": "1"})
    assert 400 <= answer.status_code < 500  # the status is not documented
    assert_error_body(answer.json(), case["code"], case["message"])
    named = api.get(f"{prefix}/items", params={"$top": "1", "company": company["id"]})
    assert named.status_code == 200, named.text
