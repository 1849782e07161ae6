"""bc-cli's SDK (PyPI ``bc-cli``, import ``bcli``), unchanged, against the emulator on BC's
own https host name.

bcli hard-codes ``https://api.businesscentral.dynamics.com/v2.0`` and
``https://login.microsoftonline.com`` and refuses to send its token to an
``@odata.nextLink`` on any other origin, so it needs ``--tls``. Expected values come from
Microsoft's documents (cited per test), never from the emulator's output.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from bcli import AsyncBCClient
from bcli.auth._credentials import ClientCredentialsAuth
from bcli.auth._token_cache import TokenCache
from bcli.errors import BCLIError, NotFoundError

from bcbridge.emulator import EmulatorConfig
from bcbridge.emulator.server import EmulatorServer

from .conftest import API, tls_config

pytestmark = pytest.mark.third_party

PAGE = 25


@pytest.fixture
def tls_emulator_config() -> EmulatorConfig:
    # a small server-driven page size, so listing customers needs @odata.nextLink
    return tls_config(max_page_size=PAGE, top_above_limit_status=0)


def _client(config: EmulatorConfig, tmp_path: Path) -> AsyncBCClient:
    # bcli caches tokens under ~/.config/bcli; each emulator signs with a new key, so the
    # test keeps bcli's cache in tmp_path (bcli's own injection point: auth=)
    auth = ClientCredentialsAuth(
        tenant_id=config.tenant,
        client_id=config.client_id,
        client_secret=config.client_secret,
        token_cache=TokenCache(tmp_path / "bcli-tokens.json"),
    )
    return AsyncBCClient(tenant_id=config.tenant, client_id=config.client_id, environment="Production", auth=auth)


def _run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_list_follows_nextlink_on_bcs_origin(tls_emulator: EmulatorServer, tmp_path: Path) -> None:
    # @odata.nextLink is absolute on BC's origin (OData v4.01 part 1 §11.2.5.7; BC server-driven
    # paging, docs/bc/3-odata-queries.md §3); bcli follows it only on *.businesscentral.dynamics.com.
    config = tls_emulator.emulator.config

    async def scenario() -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]], int]:
        async with _client(config, tmp_path) as client:
            companies = await client.list_companies()
            client.profile.company_id = companies[0]["id"]
            pages = [page async for page in await client.query("customers").pages()]
            counted = await client.query("customers").count().top(1).execute()
            return companies, pages, int(counted.raw["@odata.count"])

    companies, pages, total = _run(scenario())
    assert companies and all({"id", "name", "displayName"} <= set(c) for c in companies)
    assert len(pages) > 1
    assert all(len(page) == PAGE for page in pages[:-1])
    records = [r for page in pages for r in page]
    assert len(records) == total
    assert len({r["id"] for r in records}) == total


def test_get_filter_select_expand(tls_emulator: EmulatorServer, tmp_path: Path) -> None:
    # $filter/$select/$expand on API v2.0 (docs/bc/3-odata-queries.md §3; DOCS api/dynamics_salesorder_get.md)
    config = tls_emulator.emulator.config

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        async with _client(config, tmp_path) as client:
            client.profile.company_id = (await client.list_companies())[0]["id"]
            first = (await client.query("customers").top(1).get())[0]
            one = (await client.get("customers", first["id"])).raw
            picked = (
                await client.query("customers").filter(f"number eq '{first['number']}'").select("id", "number").get()
            )
            orders = await client.query("salesOrders").top(2).expand("salesOrderLines").get()
            return one, picked, orders

    one, picked, orders = _run(scenario())
    assert one["@odata.context"].startswith(f"{API}/v2.0/")
    assert [set(r) - {"@odata.etag"} for r in picked] == [{"id", "number"}]
    assert picked[0]["id"] == one["id"]
    assert orders and all(isinstance(o["salesOrderLines"], list) for o in orders)


def test_sales_order_with_lines_etag_update_action_and_delete(tls_emulator: EmulatorServer, tmp_path: Path) -> None:
    # Deep insert of a sales order with lines (DOCS api/dynamics_salesorder_create.md), PATCH
    # with If-Match and 409 Request_EntityChanged for a stale ETag (docs/bc/4-concurrency.md §4), the bound
    # action shipAndInvoice (DOCS api/dynamics_salesorder_shipandinvoice.md: 204, the order
    # becomes a posted invoice) and DELETE (DOCS api/dynamics_salesorder_delete.md: 204).
    config = tls_emulator.emulator.config

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with _client(config, tmp_path) as client:
            client.profile.company_id = (await client.list_companies())[0]["id"]
            customer = (await client.query("customers").top(1).get())[0]
            item = (await client.query("items").filter("type eq 'Inventory'").top(1).get())[0]
            body = {
                "customerId": customer["id"],
                "salesOrderLines": [{"lineType": "Item", "itemId": item["id"], "quantity": 3}],
            }
            order = await client.post("salesOrders", body)
            seen["order"] = order
            seen["lines"] = await client.query("salesOrderLines").filter(f"documentId eq {order['id']}").get()
            updated = await client.patch(
                "salesOrders", order["id"], {"externalDocumentNumber": "BCLI-1"}, etag=order["@odata.etag"]
            )
            seen["updated"] = updated
            try:
                await client.patch(
                    "salesOrders", order["id"], {"externalDocumentNumber": "BCLI-2"}, etag=order["@odata.etag"]
                )
            except BCLIError as error:
                seen["stale"] = error
            await client.post(f"salesOrders({order['id']})/Microsoft.NAV.shipAndInvoice", {})
            try:
                await client.get("salesOrders", order["id"])
            except NotFoundError as error:
                seen["after_action"] = error
            second = await client.post("salesOrders", {"customerId": customer["id"]})
            seen["deleted"] = await client.delete("salesOrders", second["id"], etag=second["@odata.etag"])
            try:
                await client.get("salesOrders", second["id"])
            except NotFoundError as error:
                seen["after_delete"] = error
            seen["invoices"] = await client.query("salesInvoices").filter(f"orderNumber eq '{order['number']}'").get()
        return seen

    seen = _run(scenario())
    order = seen["order"]
    assert order["customerId"] and order["number"] and order["@odata.etag"].startswith('W/"')
    assert [(line["itemId"], line["quantity"]) for line in seen["lines"]] == [(seen["lines"][0]["itemId"], 3)]
    assert seen["updated"]["externalDocumentNumber"] == "BCLI-1"
    assert seen["updated"]["@odata.etag"] != order["@odata.etag"]
    assert getattr(seen["stale"], "status_code", None) == 409, seen.get("stale")
    assert "after_action" in seen and "after_delete" in seen
    assert len(seen["invoices"]) == 1


def test_environments_of_the_tenant(tls_emulator: EmulatorServer, tmp_path: Path) -> None:
    # Admin center API: GET /admin/v2.x/applications/businesscentral/environments
    # (DOCS administration/administration-center-api_environments.md)
    config = tls_emulator.emulator.config

    async def scenario() -> list[dict[str, Any]]:
        async with _client(config, tmp_path) as client:
            return await client.list_environments()

    (environment,) = _run(scenario())
    assert environment["name"] == config.environment
    assert environment["aadTenantId"] == config.tenant
    assert environment["type"] in ("Production", "Sandbox")
    assert environment["applicationFamily"] == "BusinessCentral"


def test_upload_attachment_two_phase(tls_emulator: EmulatorServer, tmp_path: Path) -> None:
    # bcli's upload_attachment: POST documentAttachments {parentType, parentId, fileName}, then
    # PATCH documentAttachments({id})/attachmentContent with the bytes and the ETag
    # (DOCS api/dynamics_documentattachment_create.md, api/dynamics_attachment_update.md)
    config = tls_emulator.emulator.config
    document = tmp_path / "spec.pdf"
    document.write_bytes(b"%PDF-1.4 emulator test\n")

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with _client(config, tmp_path) as client:
            client.profile.company_id = (await client.list_companies())[0]["id"]
            item = (await client.query("items").top(1).get())[0]
            uploaded = await client.upload_attachment("Item", item["id"], document)
            listed = await client.query("documentAttachments").filter(f"parentId eq {item['id']}").get()
            return uploaded, {"listed": listed, "item": item}

    uploaded, seen = _run(scenario())
    (attachment,) = seen["listed"]
    assert attachment["fileName"] == "spec.pdf"
    assert attachment["byteSize"] == len(document.read_bytes())
    assert attachment["parentId"] == seen["item"]["id"]
    assert uploaded


def test_custom_api_route(tls_emulator: EmulatorServer, tmp_path: Path) -> None:
    # a custom API page: /api/{publisher}/{group}/{version}/companies({id})/{entitySet}
    # (DOCS developer/devenv-develop-custom-api.md, docs/bc/2-urls.md §2.2)
    config = tls_emulator.emulator.config

    async def scenario() -> dict[str, Any]:
        async with _client(config, tmp_path) as client:
            client.profile.company_id = (await client.list_companies())[0]["id"]
            answer = await client.get("warehouseShipments", publisher="contoso", group="warehouse", version="v1.0")
            return answer.raw

    body = _run(scenario())
    assert body["@odata.context"].startswith(f"{API}/v2.0/")
    assert "/api/contoso/warehouse/v1.0/$metadata#" in body["@odata.context"]
    assert isinstance(body["value"], list) and body["value"]
