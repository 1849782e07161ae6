"""JSON ``$batch`` against the documented transactional sample (docs/bc §2.6).

The sample's item id and company name are replaced by one of the emulator's items and the
name of the emulator's first company; everything else is sent as documented.
"""

from __future__ import annotations

from email.message import Message
from typing import Any

import httpx
import orjson
import pytest

from ._samples import assert_error_body, load

SAMPLE_ITEM = "7ce0af2e-0963-460f-9b1f-0014aea3e117"
SAMPLE_COMPANY = "CRONUS International Ltd."


def _documented_request(item_id: str, company_name: str, keep: tuple[int, ...] = (0, 1, 2)) -> dict[str, Any]:
    request = load("batch_isolation_snapshot")["request"]
    text = orjson.dumps(request["body"]).decode().replace(SAMPLE_ITEM, item_id)
    body = orjson.loads(text.replace(SAMPLE_COMPANY, company_name))
    body["requests"] = [body["requests"][i] for i in keep]
    return {"headers": request["headers"], "body": body}


def _media(value: str) -> tuple[str, dict[str, str]]:
    message = Message()
    message["content-type"] = value
    return message.get_content_type(), dict(message.get_params()[1:])


def _assert_headers(actual: dict[str, str], documented: dict[str, str]) -> None:
    """The documented inner headers, lower-case as shown; the content type's documented
    parameters (``odata.metadata=minimal``) must be among those sent."""
    for name, value in documented.items():
        assert name in actual, f"inner header {name!r} missing from {actual}"
        if name == "content-type":
            media, params = _media(actual[name])
            want_media, want_params = _media(value)
            assert media == want_media
            assert want_params.items() <= params.items(), (params, want_params)
        else:
            assert actual[name] == value


def _check_entity_answers(answers: list[dict[str, Any]], documented: list[dict[str, Any]]) -> None:
    for got, want in zip(answers, documented, strict=True):
        assert list(got)[:3] == ["id", "status", "headers"]
        assert got["id"] is want["id"] is None  # no id in the request, so null in the answer
        assert got["status"] == want["status"]
        if want["status"] == 204:
            assert got["headers"] == want["headers"] == {}
            assert "body" not in got
            continue
        _assert_headers(got["headers"], want["headers"])
        if want["status"] == 400:
            error = want["body"]["error"]
            assert_error_body(got["body"], error["code"], error["message"].split("  CorrelationId:")[0])
        else:
            for key, value in want["body"].items():
                assert got["body"][key] == value


@pytest.fixture
def item(api: httpx.Client, company_url: str) -> dict[str, Any]:
    answer = api.get(f"{company_url}/items", params={"$top": "1"})
    record: dict[str, Any] = answer.json()["value"][0]
    return record


def test_documented_entity_requests_and_snapshot_isolation(
    api: httpx.Client, prefix: str, company: dict[str, Any], company_url: str, item: dict[str, Any]
) -> None:
    """The sample's first and third inner requests (the two on the item itself) answer as
    documented, and with ``Isolation: snapshot`` the successful PATCH is not kept."""
    sample = load("batch_isolation_snapshot")
    request = _documented_request(item["id"], company["name"], keep=(0, 2))
    answer = api.post(f"{prefix}/$batch", json=request["body"], headers=request["headers"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert list(body) == ["responses"]
    documented = sample["response"]["body"]["responses"]
    _check_entity_answers(body["responses"], [documented[0], documented[2]])
    after = api.get(f"{company_url}/items({item['id']})").json()
    assert after["displayName"] == item["displayName"]
    assert after["type"] == item["type"]


def test_the_whole_documented_sample(
    api: httpx.Client, prefix: str, company: dict[str, Any], item: dict[str, Any]
) -> None:
    sample = load("batch_isolation_snapshot")
    request = _documented_request(item["id"], company["name"])
    answer = api.post(f"{prefix}/$batch", json=request["body"], headers=request["headers"])
    assert answer.status_code == 200, answer.text
    _check_entity_answers(answer.json()["responses"], sample["response"]["body"]["responses"])


def test_inner_ids_are_echoed(api: httpx.Client, prefix: str, company: dict[str, Any], item: dict[str, Any]) -> None:
    """docs/bc §2.6: the second batch sample numbers its requests "1", "2"; each answer repeats
    its request's id (OData JSON Format 4.01, JSON batch responses: each response carries its request's id)."""
    requests = [
        {"method": "GET", "id": "1", "url": f"companies({company['id']})/items({item['id']})"},
        {"method": "GET", "id": "2", "url": f"companies({company['id']})/items?$top=1"},
    ]
    answer = api.post(
        f"{prefix}/$batch",
        json={"requests": requests},
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    assert [r["id"] for r in answer.json()["responses"]] == ["1", "2"]
    assert [r["status"] for r in answer.json()["responses"]] == [200, 200]


def test_an_inner_204_has_empty_headers_and_no_body(
    api: httpx.Client, prefix: str, company: dict[str, Any], company_url: str
) -> None:
    """The sample's 204 answer is ``{"id": null, "status": 204, "headers": {}}``; a DELETE
    answers 204 No Content (docs/bc §10), so an inner DELETE answers in that shape."""
    created = api.post(f"{company_url}/items", json={"displayName": "Contract test item"})
    assert created.status_code == 201, created.text
    key = created.json()["id"]
    requests = [{"method": "DELETE", "url": f"items({key})", "headers": {"Company": company["name"], "If-Match": "*"}}]
    answer = api.post(
        f"{prefix}/$batch",
        json={"requests": requests},
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    documented = load("batch_isolation_snapshot")["response"]["body"]["responses"][1]
    assert answer.json()["responses"] == [documented]
    assert api.get(f"{company_url}/items({key})").status_code == 404
