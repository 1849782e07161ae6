"""The URL resolver: every BC URL shape, template filling and the refusals."""

from __future__ import annotations

import uuid

import pytest

from bcbridge.exceptions import ConfigurationError
from bcbridge.http.urls import BCUrls, EndpointKind, encode_query, fill_template, with_query

API = "https://api.businesscentral.dynamics.com"
TENANT = "5b9b5d71-3f2a-4c7e-9a52-6d0e1c2f4a10"
CID = uuid.UUID("fca5738a-44e3-ea11-bb43-000d3a2feca1")
ROOT = f"{API}/v2.0/{TENANT}/production"


@pytest.fixture
def urls() -> BCUrls:
    return BCUrls(API + "/", TENANT, "production")


def test_api_v2_shapes(urls):
    assert urls.environment_root == ROOT
    assert urls.companies() == f"{ROOT}/api/v2.0/companies"
    assert urls.entity_set(CID, "items") == f"{ROOT}/api/v2.0/companies({CID})/items"
    assert urls.entity_set(str(CID), "items", CID) == f"{ROOT}/api/v2.0/companies({CID})/items({CID})"
    assert urls.metadata() == f"{ROOT}/api/v2.0/$metadata"
    assert urls.batch() == f"{ROOT}/api/v2.0/$batch"
    assert urls.subscriptions("abc") == f"{ROOT}/api/v2.0/subscriptions('abc')"


def test_tenant_is_optional():
    assert BCUrls(API, "", "sandbox").companies() == f"{API}/v2.0/sandbox/api/v2.0/companies"


def test_custom_api(urls):
    assert urls.entity_set(CID, "carBrands", publisher="bctech", group="demo", version="v1.0") == (
        f"{ROOT}/api/bctech/demo/v1.0/companies({CID})/carBrands"
    )
    with pytest.raises(ConfigurationError, match="publisher and group"):
        urls.api_root(publisher="bctech")


def test_web_service_company_name_is_quoted_and_encoded(urls):
    assert urls.web_service("CRONUS USA, Inc.", "ItemCard") == (
        f"{ROOT}/ODataV4/Company('CRONUS%20USA%2C%20Inc.')/ItemCard"
    )
    assert urls.web_service("O'Neil & Co", "Customer", "10000") == (
        f"{ROOT}/ODataV4/Company('O%27%27Neil%20%26%20Co')/Customer('10000')"
    )


def test_actions(urls):
    assert urls.unbound_action("APICodeunits", "GetNextSalesOrderNo", "CRONUS USA, Inc.") == (
        f"{ROOT}/ODataV4/APICodeunits_GetNextSalesOrderNo?company=CRONUS%20USA%2C%20Inc."
    )
    assert urls.bound_action(CID, "salesInvoices", CID, "post") == (
        f"{ROOT}/api/v2.0/companies({CID})/salesInvoices({CID})/Microsoft.NAV.post"
    )


def test_endpoint_templates_per_kind(urls):
    got = urls.endpoint(
        EndpointKind.API,
        "companies({company_id})/items?$filter=number eq '{number}'",
        {"company_id": CID, "number": "O'1 0"},
    )
    assert got == f"{ROOT}/api/v2.0/companies({CID})/items?$filter=number eq 'O%27%271%200'"
    assert urls.endpoint("api", "items({id})", {"id": CID}, company_id=CID) == (
        f"{ROOT}/api/v2.0/companies({CID})/items({CID})"
    )
    assert (
        urls.endpoint(
            "custom_api",
            "shipments",
            company_id=CID,
            publisher="contoso",
            group="whse",
            version="v1.0",
        )
        == f"{ROOT}/api/contoso/whse/v1.0/companies({CID})/shipments"
    )
    assert urls.endpoint("odata_v4", "WhseShptLines?$filter=No eq '{no}'", {"no": "WS-1"}, company_name="CRONUS") == (
        f"{ROOT}/ODataV4/Company('CRONUS')/WhseShptLines?$filter=No eq 'WS-1'"
    )
    assert urls.endpoint("unbound_action", "APICodeunits_GetNextSalesOrderNo", company_name="A B") == (
        f"{ROOT}/ODataV4/APICodeunits_GetNextSalesOrderNo?company=A%20B"
    )
    assert urls.endpoint(
        "bound_action",
        "salesOrders({id})/Microsoft.NAV.shipAndInvoice",
        {"id": CID},
        company_id=CID,
    ) == (f"{ROOT}/api/v2.0/companies({CID})/salesOrders({CID})/Microsoft.NAV.shipAndInvoice")


def test_template_values_cannot_inject_path(urls):
    got = urls.endpoint("api", "items('{no}')?x={q}", {"no": "A/B", "q": "1&y=2#f"}, company_id=CID)
    assert got.endswith("items('A%2FB')?x=1%26y%3D2%23f")
    # Encoded dot segments are refused too: proxies may decode %2F before routing.
    with pytest.raises(ConfigurationError, match="refusing"):
        urls.endpoint("api", "items('{no}')", {"no": "../../x"}, company_id=CID)


@pytest.mark.parametrize(
    "template",
    [
        "../../other-env/api/v2.0/companies",
        "..%2F..%2Fsandbox/api",
        "%2e%2e/%2e%2e/%2e%2e/sandbox",
        "%252e%252e/%252e%252e/%252e%252e/sandbox",
        "//evil.test/v2.0/x",
        "http://evil.test/v2.0/x",
        "https://api.businesscentral.dynamics.com/v2.0/other-tenant/production/api",
        "items\\..\\..\\x",
        "./items",
    ],
)
def test_refusals(urls, template):
    with pytest.raises(ConfigurationError, match="refusing"):
        urls.endpoint("api", template, company_id=CID)


def test_absolute_template_on_own_environment_is_allowed(urls):
    url = f"{ROOT}/api/v2.0/companies"
    assert urls.endpoint("api", url) == url
    assert urls.check(
        url.replace(
            "https://api.businesscentral.dynamics.com",
            "HTTPS://API.businesscentral.dynamics.com:443",
        )
    ).endswith("/companies")


def test_template_errors(urls):
    with pytest.raises(ConfigurationError, match=r"\{number\}"):
        fill_template("items?$filter=number eq '{number}'", {})
    with pytest.raises(ConfigurationError):
        fill_template("items({id!r})", {"id": 1})
    with pytest.raises(ConfigurationError, match="company name"):
        urls.endpoint("odata_v4", "Items")
    with pytest.raises(ConfigurationError, match="company"):
        urls.endpoint("unbound_action", "Svc_Action")
    assert fill_template("a{{b}}", {}) == "a{b}"


def test_bad_configuration():
    with pytest.raises(ConfigurationError):
        BCUrls("api.businesscentral.dynamics.com", TENANT, "production")
    with pytest.raises(ConfigurationError):
        BCUrls(API, TENANT, "")


def test_query_encoding():
    assert encode_query({"$filter": "a eq 'x y'", "$top": 3, "$count": True, "skip": None}) == (
        "$filter=a%20eq%20'x%20y'&$top=3&$count=true"
    )
    assert with_query("u?company=1", {"$top": 1}) == "u?company=1&$top=1"
    assert with_query("u", {}) == "u"
