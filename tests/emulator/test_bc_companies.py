"""BC companies, tenant/environment routing, the service document and ``$metadata``."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest

from bcbridge.emulator import Emulator

from ._bc import BASE, client, company_url, make_emulator, root
from ._catalogue import catalogue, field_names

ATTACHMENT_SETS = ["attachments", "documentAttachments"]

COMPANY_FIELDS = field_names("companies")
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


@pytest.fixture(scope="module")
def emulator() -> Emulator:
    return make_emulator()


@pytest.fixture(scope="module")
def http(emulator: Emulator) -> Iterator[httpx.Client]:
    with client(emulator) as http:
        yield http


def test_companies_lists_several_companies_shaped_like_bc(emulator: Emulator, http: httpx.Client
                                                          ) -> None:
    answer = http.get(f"{root(emulator)}/companies")
    assert answer.status_code == 200
    assert answer.headers["OData-Version"] == "4.0"
    assert answer.headers["content-type"].startswith("application/json; odata.metadata=minimal")
    body = answer.json()
    assert body["@odata.context"] == f"{BASE}{root(emulator)}/$metadata#companies"
    names = [(c["name"], c["displayName"]) for c in body["value"]]
    assert names == [("CRONUS US", "CRONUS USA, Inc."),
                     ("CRONUS Canada, Inc.", "CRONUS Canada, Inc."),
                     ("My Company", "My Company")]
    for company in body["value"]:
        assert list(company) == ["@odata.etag", *COMPANY_FIELDS]
        assert company["@odata.etag"].startswith('W/"')
        assert company["systemModifiedAt"].endswith("Z")
        assert isinstance(company["timestamp"], int)
    assert emulator.bc.companies() == [
        {k: v for k, v in c.items() if k != "@odata.etag"} for c in body["value"]]


def test_single_company_has_entity_context_and_etag_header(emulator: Emulator,
                                                           http: httpx.Client) -> None:
    answer = http.get(company_url(emulator))
    assert answer.status_code == 200
    body = answer.json()
    assert body["@odata.context"] == f"{BASE}{root(emulator)}/$metadata#companies/$entity"
    assert answer.headers["ETag"] == body["@odata.etag"]
    assert body["name"] == "CRONUS US"


def test_unauthenticated_requests_are_rejected(emulator: Emulator) -> None:
    with client(emulator, authenticated=False) as anonymous:
        answer = anonymous.get(f"{root(emulator)}/companies")
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "Authentication_InvalidCredentials"
        forged = anonymous.get(f"{root(emulator)}/companies",
                               headers={"Authorization": "Bearer not.a.token"})
        assert forged.status_code == 401


def test_tenant_may_be_a_domain_or_left_out(emulator: Emulator, http: httpx.Client) -> None:
    expected = http.get(f"{root(emulator)}/companies").json()["value"]
    by_domain = http.get("/v2.0/cronus.onmicrosoft.com/production/api/v2.0/companies")
    assert by_domain.status_code == 200
    assert by_domain.json()["value"] == expected
    tenantless = http.get("/v2.0/Production/api/v2.0/companies")
    assert tenantless.status_code == 200
    assert tenantless.json()["value"] == expected
    assert tenantless.json()["@odata.context"] == (
        f"{BASE}/v2.0/Production/api/v2.0/$metadata#companies")


@pytest.mark.unverified  # the codes for an unknown tenant/environment are not documented for these cases
def test_unknown_tenant_or_environment_is_404(emulator: Emulator, http: httpx.Client) -> None:
    tenant = http.get("/v2.0/contoso.onmicrosoft.com/production/api/v2.0/companies")
    assert tenant.status_code == 404
    assert tenant.json()["error"]["code"] == "Internal_TenantUnavailable"
    environment = http.get(f"/v2.0/{emulator.config.tenant}/staging/api/v2.0/companies")
    assert environment.status_code == 404
    error = environment.json()["error"]
    assert error["code"] == "BadRequest_ResourceNotFound"
    assert error["message"].startswith("Resource not found for the segment 'staging'.")
    assert "  CorrelationId:  " in error["message"]


def test_unknown_company_and_segment(emulator: Emulator, http: httpx.Client) -> None:
    missing = http.get(f"{root(emulator)}/companies(00000000-0000-0000-0000-00000000abcd)/items")
    assert missing.status_code == 404
    segment = http.get(f"{company_url(emulator)}/carBrands")
    assert segment.status_code == 404
    assert segment.json()["error"]["code"] == "BadRequest_ResourceNotFound"


def test_service_document_lists_every_entity_set(emulator: Emulator, http: httpx.Client) -> None:
    body = http.get(root(emulator)).json()
    assert body["@odata.context"] == f"{BASE}{root(emulator)}/$metadata"
    # the catalogue's sets, then the two attachment sets and pictures of the API v2.0 reference
    # (resources/dynamics_attachment, dynamics_documentattachment, dynamics_picture)
    assert [v["name"] for v in body["value"]] == [*catalogue(), *ATTACHMENT_SETS, "pictures"]
    assert body["value"][1] == {"name": "items", "kind": "EntitySet", "url": "items"}


def test_metadata_describes_types_keys_enums_navigation_and_actions(
        emulator: Emulator, http: httpx.Client) -> None:
    answer = http.get(f"{root(emulator)}/$metadata")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/xml")
    document = ET.fromstring(answer.content)
    namespace = document.find(f".//{EDM}Schema")
    assert namespace is not None
    assert namespace.get("Namespace") == "Microsoft.NAV"
    types = {t.get("Name"): t for t in namespace.findall(f"{EDM}EntityType")}
    item = types["item"]
    properties = [(p.get("Name"), p.get("Type")) for p in item.findall(f"{EDM}Property")]
    assert [p[0] for p in properties] == field_names("items")
    assert ("id", "Edm.Guid") in properties
    assert ("type", "Microsoft.NAV.itemType") in properties
    assert ("unitPrice", "Edm.Decimal") in properties
    assert ("lastModifiedDateTime", "Edm.DateTimeOffset") in properties
    key = item.find(f"{EDM}Key/{EDM}PropertyRef")
    assert key is not None
    assert key.get("Name") == "id"
    navigation = {n.get("Name"): n for n in item.findall(f"{EDM}NavigationProperty")}
    assert navigation["itemVariants"].get("Type") == "Collection(Microsoft.NAV.itemVariant)"
    assert navigation["itemVariants"].get("ContainsTarget") == "true"
    order_props = dict((p.get("Name"), p.get("Type"))
                       for p in types["salesOrder"].findall(f"{EDM}Property"))
    assert order_props["orderDate"] == "Edm.Date"
    enums = {e.get("Name"): [m.get("Name") for m in e.findall(f"{EDM}Member")]
             for e in namespace.findall(f"{EDM}EnumType")}
    assert enums["itemType"] == ["Inventory", "Service", "Non_x002d_Inventory"]
    actions = {(a.get("Name"), a.find(f"{EDM}Parameter").get("Type"))  # type: ignore[union-attr]
               for a in namespace.findall(f"{EDM}Action")}
    assert ("post", "Microsoft.NAV.salesInvoice") in actions
    assert ("shipAndInvoice", "Microsoft.NAV.salesOrder") in actions
    container = namespace.find(f"{EDM}EntityContainer")
    assert container is not None
    assert len(container.findall(f"{EDM}EntitySet")) == len(catalogue()) + len(ATTACHMENT_SETS) + 1  # + pictures
    # resources/dynamics_attachment: the file is the attachmentContent stream
    attachment = {p.get("Name"): p.get("Type") for p in types["attachment"].findall(f"{EDM}Property")}
    assert attachment["attachmentContent"] == "Edm.Stream"
    assert attachment["parentId"] == "Edm.Guid" and attachment["byteSize"] == "Edm.Int32"
