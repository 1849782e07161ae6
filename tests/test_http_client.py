"""BCClient against httpx.MockTransport: headers, errors, retries, URL checks, request log."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import httpx
import pytest

from bcbridge.exceptions import (
    AuthenticationFailed,
    BadRequest,
    ConcurrencyConflict,
    ConfigurationError,
    NotFound,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    TransportError,
)
from bcbridge.http import BCClient, LocalRateLimiter, RequestRecord, RetryPolicy, redact_url

BASE = "https://api.bc.test/v2.0/tenant/production/api/v2.0/"


def bc_error(status: int, code: str, message: str, **headers: str) -> httpx.Response:
    body = {"error": {"code": code, "message": f"{message}  CorrelationId:  {uuid.uuid4()}."}}
    return httpx.Response(status, json=body, headers=headers)


class Script:
    """A MockTransport handler answering from a list and remembering the requests."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def make_client(script: Script, **kwargs) -> tuple[BCClient, list[float]]:
    slept: list[float] = []
    kwargs.setdefault("retry", RetryPolicy(sleep=slept.append, rng=lambda: 0.5))
    return BCClient(BASE, None, transport=httpx.MockTransport(script), **kwargs), slept


def test_headers_on_every_call():
    script = Script(httpx.Response(200, json={"value": []}))
    client, _ = make_client(script, user_agent="bcbridge/test", data_access_intent="ReadOnly")
    assert client.get_json("companies") == {"value": []}
    client.post_json("companies", {"a": 1})
    get, post = script.requests
    assert get.url == BASE + "companies"
    assert get.headers["Accept"] == "application/json"
    assert get.headers["User-Agent"] == "bcbridge/test"
    assert get.headers["Data-Access-Intent"] == "ReadOnly"
    # BC rejects ReadOnly intent on writes (docs/bc/3-odata-queries.md §3).
    assert "Data-Access-Intent" not in post.headers
    ids = {get.headers["client-request-id"], post.headers["client-request-id"]}
    assert len(ids) == 2
    assert all(uuid.UUID(i).version == 4 for i in ids)


def test_json_body_and_etag():
    script = Script(httpx.Response(200, json={"id": "x"}), httpx.Response(204))
    client, _ = make_client(script)
    body = {"unitPrice": Decimal("10.50"), "when": datetime(2020, 1, 2, 3, 4, 5)}
    assert client.patch_json("items(1)", body, 'W/"abc"') == {"id": "x"}
    assert client.delete("items(1)", "*") is None
    patch, delete = script.requests
    assert patch.method == "PATCH"
    assert patch.headers["If-Match"] == 'W/"abc"'
    assert patch.headers["Content-Type"] == "application/json"
    assert patch.content == b'{"unitPrice":10.50,"when":"2020-01-02T03:04:05Z"}'
    assert delete.headers["If-Match"] == "*"


def test_params_encoded_with_percent_20():
    script = Script(httpx.Response(200, json={}))
    client, _ = make_client(script)
    client.get_json("items", params={"$filter": "number eq 'A B+C'", "$top": 5})
    raw = script.requests[0].url.raw_path.decode()
    assert raw.endswith("/items?$filter=number%20eq%20'A%20B%2BC'&$top=5")


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "BadRequest_InvalidToken", BadRequest),
        (401, "Authentication_InvalidCredentials", AuthenticationFailed),
        (404, "BadRequest_ResourceNotFound", NotFound),
        (409, "Request_EntityChanged", ConcurrencyConflict),
        (400, "Internal_RecordNotFound", NotFound),
        (500, "Internal_ServerError", ServerError),
    ],
)
def test_error_answers_map_to_classes(status, code, cls):
    script = Script(bc_error(status, code, "Something is wrong."))
    client, _ = make_client(script, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(cls) as info:
        client.get_json("items?$top=1")
    error = info.value
    assert error.status == status
    assert error.code == code
    assert error.message == "Something is wrong."
    assert error.method == "GET"
    assert error.url == BASE + "items?$top=1"
    assert error.request_id == script.requests[0].headers["client-request-id"]


def test_non_json_error_body():
    script = Script(httpx.Response(502, text="<html>Bad gateway</html>"))
    client, _ = make_client(script, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(ServiceUnavailable) as info:
        client.get_json("items")
    assert info.value.code == ""
    assert "Bad gateway" in info.value.message


def test_get_retries_with_retry_after_then_succeeds():
    script = Script(
        bc_error(429, "Request_TooManyRequests", "Slow down.", **{"Retry-After": "3"}),
        bc_error(503, "Internal_TenantUnavailable", "Busy."),
        httpx.Response(200, json={"ok": True}),
    )
    records: list[RequestRecord] = []
    client, slept = make_client(script, on_request=records.append)
    assert client.get_json("items") == {"ok": True}
    # Retry-After honoured, then jittered back-off (rng 0.5 x base 0.5 x 2**1).
    assert slept == [3.0, 0.5]
    ids = [r.headers["client-request-id"] for r in script.requests]
    assert len(set(ids)) == 3  # one id per attempt
    assert [(r.attempt, r.status, r.error) for r in records] == [
        (1, 429, "Request_TooManyRequests"),
        (2, 503, "Internal_TenantUnavailable"),
        (3, 200, ""),
    ]
    assert [r.request_id for r in records] == ids
    assert records[-1].response_bytes == len(b'{"ok":true}')


def test_retries_give_up_after_budget_with_retry_after_on_error():
    script = Script(bc_error(429, "Request_TooManyRequests", "Slow down.", **{"Retry-After": "7"}))
    client, _ = make_client(script, retry=RetryPolicy(max_attempts=3, sleep=lambda s: None))
    with pytest.raises(RateLimited) as info:
        client.get_json("items")
    assert info.value.retry_after == 7.0
    assert len(script.requests) == 3


def test_post_is_not_retried_on_500_but_is_on_429():
    script = Script(bc_error(500, "Internal_ServerError", "Failed."))
    client, slept = make_client(script)
    with pytest.raises(ServerError):
        client.post_json("salesOrders", {"customerNumber": "10000"})
    assert len(script.requests) == 1 and slept == []

    script = Script(bc_error(429, "Request_TooManyRequests", "Slow."), httpx.Response(201, json={"id": "1"}))
    client, slept = make_client(script)
    assert client.post_json("salesOrders", {"customerNumber": "10000"}) == {"id": "1"}
    assert len(script.requests) == 2


def test_patch_with_etag_is_retried_but_star_is_not():
    script = Script(bc_error(502, "", "Bad gateway"), httpx.Response(200, json={"v": 2}))
    client, _ = make_client(script)
    assert client.patch_json("items(1)", {"v": 2}, 'W/"e1"') == {"v": 2}
    assert len(script.requests) == 2

    script = Script(bc_error(502, "", "Bad gateway"), httpx.Response(200, json={"v": 2}))
    client, _ = make_client(script)
    with pytest.raises(ServiceUnavailable):
        client.patch_json("items(1)", {"v": 2}, "*")
    assert len(script.requests) == 1


def test_transport_errors_become_transport_error():
    script = Script(httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), httpx.Response(200, json=1))
    records: list[RequestRecord] = []
    client, _ = make_client(script, on_request=records.append)
    assert client.get_json("items") == 1
    assert [r.error for r in records] == ["ReadTimeout", "ConnectError", ""]
    assert records[0].status is None

    script = Script(httpx.ReadTimeout("slow"))
    client, _ = make_client(script)
    with pytest.raises(TransportError) as info:
        client.post_json("salesOrders", {"a": 1})
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    assert len(script.requests) == 1  # a POST that may have arrived is not repeated


def test_urls_must_stay_on_the_connection_host():
    script = Script(httpx.Response(200, json={}))
    client, _ = make_client(script)
    assert client.resolve("items") == BASE + "items"
    assert client.resolve("/v2.0/tenant/production/api/v2.0/x") == BASE + "x"
    assert client.resolve(BASE + "items?$skiptoken=1") == BASE + "items?$skiptoken=1"
    assert client.resolve("HTTPS://API.BC.TEST:443/v2.0/x") == "HTTPS://API.BC.TEST:443/v2.0/x"
    assert client.resolve("//api.bc.test/v2.0/x") == "https://api.bc.test/v2.0/x"
    for bad in (
        "https://evil.test/v2.0/items",
        "//evil.test/items",
        "http://api.bc.test/items",  # another scheme
        "https://api.bc.test:8443/items",
        "https://api.bc.test.evil.test/items",
        "https://api.bc.test@evil.test/items",
        "javascript:alert(1)",
    ):
        with pytest.raises(ConfigurationError):
            client.get_json(bad)
    assert script.requests == []


def test_limiter_slot_is_held_per_attempt():
    limiter = LocalRateLimiter(rate=100, window=60, concurrency=1, timeout=0.2)
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(limiter._active)
        return httpx.Response(200, json={})

    client = BCClient(BASE, None, transport=httpx.MockTransport(handler), limiter=limiter)
    client.get_json("a")
    client.get_json("b")
    assert seen == [1, 1]
    assert limiter._active == 0


def test_auth_is_applied():
    class Bearer(httpx.Auth):
        def auth_flow(self, request):
            request.headers["Authorization"] = "Bearer t0k"
            yield request

    script = Script(httpx.Response(200, json={}))
    client = BCClient(BASE, Bearer(), transport=httpx.MockTransport(script))
    with client:
        client.get_json("companies")
    assert script.requests[0].headers["Authorization"] == "Bearer t0k"


def test_redact_url():
    assert redact_url("https://h/x?$top=1") == "https://h/x?$top=1"
    assert redact_url("https://h/x?code=abc&state=1&client_secret=s") == (
        "https://h/x?code=***&state=1&client_secret=***"
    )
    cleaned = redact_url("https://h/x?code=abc&state=1&client_secret=s&$skiptoken=k")
    assert "abc" not in cleaned and "=s" not in cleaned and "$skiptoken=k" in cleaned


def test_base_url_must_be_absolute():
    with pytest.raises(ConfigurationError):
        BCClient("/relative", None)
