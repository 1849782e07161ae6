"""schemathesis against the live ``openapi.json`` of the REST API (served by the site's WSGI
application): for every operation, generated requests never get a 5xx and every response
matches the documented status codes, content types, headers and schemas, and schema-valid
requests are accepted. Examples are bounded and derandomized, so the run is the same every
time and stays under a minute."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from bcbridge.site.wsgi import application
from bcbridge.sync.engine import sync_entity_set

from ._api import BASE, make_key

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = 10


@pytest.fixture
def mirrored(bc, company):
    for entity_set in ("items", "salesInvoices", "currencies"):
        assert sync_entity_set(bc, company, entity_set).status == "succeeded"
    return company


def test_every_operation_conforms_to_its_schema(mirrored):
    _, key = make_key(["read", "orders", "endpoints"], name="fuzzer", rate_limit=100_000)
    schema = schemathesis.openapi.from_wsgi(f"{BASE}/openapi.json", application)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    checked = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def conforms(case):
            if case.query:
                # a cursor is only valid when this API made it (opaque by design): covered by
                # test_api_mirror; a generated one is rightly a 400 invalid_cursor
                case.query.pop("cursor", None)
            case.call_and_validate(headers={"Authorization": f"Bearer {key}"})

        conforms()
        checked.append(operation.label)
    assert len(checked) == len(operations)
