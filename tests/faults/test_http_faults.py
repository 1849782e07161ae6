"""Answers that break the client (issue #16 items 6 and 7): a truncated 200 maps to a
bcbridge exception and safe requests retry it; a nextLink to another tenant or environment
on the same host is refused before the bearer token goes there."""

from __future__ import annotations

import httpx
import pytest

from bcbridge.exceptions import ConfigurationError, InvalidResponse, TransportError
from bcbridge.http import BCClient, RetryPolicy
from bcbridge.odata import iter_pages

ROOT = "https://api.bc.test/v2.0/tenant-a/production"


class Script:
    """Answers requests in turn from ``answers`` (status, body bytes); records them."""

    def __init__(self, *answers: tuple[int, bytes]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, body = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return httpx.Response(status, content=body, headers={"Content-Type": "application/json"})


def _client(script: Script) -> BCClient:
    return BCClient(
        ROOT + "/",
        None,
        transport=httpx.MockTransport(script),
        retry=RetryPolicy(max_attempts=3, sleep=lambda seconds: None),
    )


TRUNCATED = b'{"value": [{"id": "1", "displayName": "Cut he'


def test_a_truncated_get_is_retried():
    script = Script((200, TRUNCATED), (200, b'{"value": []}'))
    with _client(script) as client:
        assert client.get_json("api/v2.0/companies") == {"value": []}
    assert len(script.requests) == 2


def test_a_truncated_get_that_stays_truncated_raises_a_bcbridge_transport_error():
    script = Script((200, TRUNCATED))
    with _client(script) as client, pytest.raises(InvalidResponse, match="not JSON") as caught:
        client.get_json("api/v2.0/companies")
    assert isinstance(caught.value, TransportError)  # retriable: the sync's run fails cleanly
    assert len(script.requests) == 3


def test_a_truncated_post_answer_is_not_repeated():
    script = Script((201, TRUNCATED))
    with _client(script) as client, pytest.raises(InvalidResponse):
        client.post_json("api/v2.0/companies(1)/salesOrders", {"externalDocumentNumber": "X"})
    assert len(script.requests) == 1  # the outbox decides (outcome unknown: look it up)


@pytest.mark.parametrize(
    "link",
    [
        "https://api.bc.test/v2.0/tenant-b/production/api/v2.0/companies(1)/items?page=1",
        "https://api.bc.test/v2.0/tenant-a/sandbox/api/v2.0/companies(1)/items?page=1",
        "/v2.0/tenant-b/production/api/v2.0/companies(1)/items?page=1",
        "https://api.bc.test/v2.0/tenant-a/production/api/v2.0/%2e%2e/%2e%2e/%2e%2e/tenant-b/x",
    ],
)
def test_a_next_link_outside_the_environment_root_is_refused(link):
    page = b'{"value": [{"n": 1}], "@odata.nextLink": "' + link.encode() + b'"}'
    script = Script((200, page))
    with _client(script) as client, pytest.raises(ConfigurationError, match="environment root"):
        list(iter_pages(client, "api/v2.0/companies(1)/items"))
    assert len(script.requests) == 1  # nothing was sent to the other tenant


def test_a_next_link_inside_the_root_is_followed():
    link = f"{ROOT}/api/v2.0/companies(1)/items?$skiptoken=2"
    script = Script((200, b'{"value": [], "@odata.nextLink": "' + link.encode() + b'"}'), (200, b'{"value": []}'))
    with _client(script) as client:
        assert len(list(iter_pages(client, "api/v2.0/companies(1)/items"))) == 2
