"""The endpoint registry: rows in the database called by code, CLI and admin (issue 4)."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

import bcbridge
from bcbridge.exceptions import ConfigurationError, NotFound
from bcbridge.models import ApiEndpoint, RequestLog
from bcbridge.sync.companies import load_companies


@pytest.fixture
def loaded(connection):
    """The connection with its companies loaded and the first one selected."""
    companies = load_companies(connection)
    companies[0].selected = True
    companies[0].save()
    return connection


def _endpoint(connection, code, **fields):
    values = {"kind": "api", "method": "GET", "url_template": "items", **fields}
    return ApiEndpoint.objects.create(connection=connection, code=code, name=code, **values)


def test_call_api_endpoint_with_placeholders_and_default_query(loaded, bc_emulator):
    _endpoint(loaded, "GET_ITEMS", default_query={"$top": 3, "$select": "id,number"})
    bc = bcbridge.connect(loaded.name)
    page = bc.call("GET_ITEMS")
    assert len(page["value"]) == 3 and set(page["value"][0]) == {"@odata.etag", "id", "number"}
    number = page["value"][0]["number"]
    _endpoint(loaded, "GET_ITEM_BY_NUMBER", url_template="items?$filter=number eq '{number}'")
    found = bc.call("GET_ITEM_BY_NUMBER", number=number)
    assert [i["number"] for i in found["value"]] == [number]


def test_placeholder_values_are_encoded_not_injected(loaded):
    _endpoint(loaded, "GET_ITEM", url_template="items({id})")
    bc = bcbridge.connect(loaded.name)
    with pytest.raises((NotFound, ConfigurationError)):
        bc.call("GET_ITEM", id="00000000-0000-0000-0000-000000000001)/../../../companies(x")


@pytest.mark.parametrize(
    "template", ["http://evil.test/steal", "//evil.test/x", "../../../../other/api", "%2e%2e/%2e%2e/%2e%2e/x"]
)
def test_templates_leaving_the_environment_are_refused(loaded, emulator_transport, template):
    _endpoint(loaded, "BAD", url_template=template)
    before = sum(emulator_transport.counts.values())
    with pytest.raises(ConfigurationError):
        bcbridge.connect(loaded.name).call("BAD")
    assert sum(emulator_transport.counts.values()) == before  # nothing was sent


def test_unknown_and_disabled_codes_say_what_to_do(loaded):
    _endpoint(loaded, "OFF", enabled=False)
    bc = bcbridge.connect(loaded.name)
    with pytest.raises(ConfigurationError, match=r"No endpoint 'NOPE'.*known: OFF"):
        bc.call("NOPE")
    with pytest.raises(ConfigurationError, match="disabled"):
        bc.call("OFF")


def test_codeunit_action_and_custom_api_endpoints(loaded):
    _endpoint(
        loaded,
        "GET_SALES_ORDER_NO",
        kind="unbound_action",
        method="POST",
        url_template="APICodeunits_GetNextSalesOrderNo",
    )
    _endpoint(
        loaded,
        "WHSE_SHIPMENTS",
        kind="custom_api",
        publisher="contoso",
        group="warehouse",
        version="v1.0",
        url_template="warehouseShipments",
    )
    bc = bcbridge.connect(loaded.name)
    first = bc.call("GET_SALES_ORDER_NO")["value"]
    second = bc.call("GET_SALES_ORDER_NO")["value"]
    assert first != second and first[:2] == second[:2]
    assert "value" in bc.call("WHSE_SHIPMENTS")


def test_web_service_endpoint_uses_the_company_name(loaded):
    _endpoint(loaded, "ITEM_CARD", kind="odata_v4", url_template="ItemCard", default_query={"$top": 2})
    cards = bcbridge.connect(loaded.name).call("ITEM_CARD")["value"]
    assert len(cards) == 2 and "No" in cards[0]


def test_cli_add_list_and_call(loaded, capsys):
    call_command(
        "endpoints",
        "add",
        "TOP_CUSTOMERS",
        "--connection",
        loaded.name,
        "--kind",
        "api",
        "--method",
        "GET",
        "--url",
        "customers?$top=2",
        "--name",
        "Two customers",
    )
    call_command("endpoints", "list", "--connection", loaded.name)
    assert "TOP_CUSTOMERS" in capsys.readouterr().out
    call_command("call", "TOP_CUSTOMERS", "--connection", loaded.name)
    printed = json.loads(capsys.readouterr().out)
    assert len(printed["value"]) == 2
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("call", "TOP_CUSTOMERS", "--connection", loaded.name, "--data", "{bad")


def test_cli_call_reports_bc_errors(loaded):
    _endpoint(loaded, "MISSING_ITEM", url_template="items(00000000-0000-0000-0000-0000000000ff)")
    with pytest.raises(CommandError, match="404"):
        call_command("call", "MISSING_ITEM", "--connection", loaded.name)


def test_try_it_in_the_admin(admin_client, loaded):
    endpoint = _endpoint(loaded, "TRY_ITEMS", url_template="items?$top=1")
    url = reverse("admin:bcbridge_apiendpoint_try", args=[endpoint.pk])
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(url, {"payload": "", "company": ""})
    assert b'id="result"' in response.content and b"@odata.etag" in response.content
    bad = admin_client.post(url, {"payload": "{not json", "company": ""})
    assert b"not valid JSON" in bad.content


def test_request_log_records_calls_without_secrets(loaded):
    _endpoint(loaded, "LOGGED", url_template="items?$top=1")
    bcbridge.connect(loaded.name).call("LOGGED")
    row = RequestLog.objects.filter(url__contains="/items").latest("created_at")
    assert (row.method, row.status, row.connection_id) == ("GET", 200, loaded.pk)
    assert row.request_id and row.duration_ms >= 0 and row.response_bytes > 0
    assert loaded.client_secret not in row.url
    assert RequestLog.prune(days=0) >= 1


def test_entity_set_convenience_crud_and_action(loaded):
    bc = bcbridge.connect(loaded.name)
    items = list(bc.items.list(top=5, select=["id", "number", "displayName"]))
    assert len(items) == 5
    item = bc.items.get(items[0]["id"])
    assert item["number"] == items[0]["number"]
    customer = bc.customers.create({"displayName": "bcbridge test customer"})
    changed = bc.customers.update(customer["id"], {"displayName": "renamed"}, etag=customer["@odata.etag"])
    assert changed["displayName"] == "renamed" and changed["@odata.etag"] != customer["@odata.etag"]
    from bcbridge.exceptions import ConcurrencyConflict

    with pytest.raises(ConcurrencyConflict):
        bc.customers.update(customer["id"], {"displayName": "stale"}, etag=customer["@odata.etag"])
    bc.customers.delete(customer["id"], etag=changed["@odata.etag"])
    with pytest.raises(NotFound):
        bc.customers.get(customer["id"])


def test_company_selection_errors_are_clear(connection):
    load_companies(connection)
    bc = bcbridge.connect(connection.name)
    with pytest.raises(ConfigurationError, match="select exactly one"):
        _ = bc.items
    with pytest.raises(ConfigurationError, match="No company 'Nowhere'"):
        bc.company("Nowhere")
    assert bc.company("CRONUS US").company_id


def test_import_endpoints_from_metadata(loaded, capsys):
    call_command("endpoints", "import", "--connection", loaded.name, "--route", "contoso/warehouse/v1.0")
    codes = set(loaded.endpoints.values_list("code", flat=True))
    assert {"WS_ITEMCARD", "APICODEUNITS_GETNEXTSALESORDERNO", "GET_WAREHOUSE_WAREHOUSESHIPMENTS"} <= codes
    imported = loaded.endpoints.get(code="APICODEUNITS_GETNEXTSALESORDERNO")
    assert (imported.kind, imported.method) == ("unbound_action", "POST")
    assert bcbridge.connect(loaded.name).call("APICODEUNITS_GETNEXTSALESORDERNO")["value"]
    again = loaded.endpoints.count()
    call_command("endpoints", "import", "--connection", loaded.name)
    assert loaded.endpoints.count() == again  # existing codes are kept, not duplicated
