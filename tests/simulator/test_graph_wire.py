"""Wire-format tests for the tenant simulator's Microsoft Graph v1.0 surface (raw httpx + msgraph-sdk)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.simulator import Simulator, init_tenant, make_token, read_tenant

E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
EXCHANGE_P1 = "4b9405b0-7788-4568-add1-99614e613b69"
FLOW_FREE = "f30db892-07e9-47e9-837c-80727f46fd3d"
ADMIN = "admin@contoso.onmicrosoft.com"
DEFAULT_SET = {
    "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
    "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id",
}  # fmt: skip
GOOD_PASSWORD = "xWwvJ]6NMw+bWH-d"


def edit_tenant(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """Change a tenant file before a simulator loads it."""
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def new_user(upn: str = "cronofy-svc@contoso.com", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "accountEnabled": True,
        "displayName": "Cronofy service",
        "mailNickname": upn.split("@")[0],
        "userPrincipalName": upn,
        "passwordProfile": {"forceChangePasswordNextSignIn": False, "password": GOOD_PASSWORD},
    }
    body.update(extra)
    return body


def assert_error(response: httpx.Response, status: int, code: str, message: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    if message is not None:
        assert error["message"] == message
    inner = error["innerError"]
    assert set(inner) >= {"date", "request-id", "client-request-id"}
    assert response.headers["request-id"] == inner["request-id"]
    return dict(error)


def licenses(upn_or_id: str, graph: httpx.Client, add: list[str], remove: list[str] | None = None) -> httpx.Response:
    body = {"addLicenses": [{"disabledPlans": [], "skuId": s} for s in add], "removeLicenses": remove or []}
    return graph.post(f"/users/{upn_or_id}/assignLicense", json=body)


def sku(graph: httpx.Client, sku_id: str) -> dict[str, Any]:
    value = graph.get("/subscribedSkus").json()["value"]
    return dict(next(s for s in value if s["skuId"] == sku_id))


# --- tokens ----------------------------------------------------------------------------------


def test_missing_token_is_401(sim: Simulator) -> None:
    response = httpx.get(f"{sim.base_url}/v1.0/users")
    assert_error(response, 401, "InvalidAuthenticationToken", "Access token is empty.")


def test_token_for_another_tenant_is_401(sim: Simulator) -> None:
    other = make_token(str(uuid.uuid4()), "app")
    response = httpx.get(f"{sim.base_url}/v1.0/users", headers={"Authorization": f"Bearer {other}"})
    assert_error(response, 401, "InvalidAuthenticationToken")


def test_malformed_token_is_401(sim: Simulator) -> None:
    response = httpx.get(f"{sim.base_url}/v1.0/users", headers={"Authorization": "Bearer not-a-jwt"})
    assert_error(response, 401, "InvalidAuthenticationToken")


def _b64json(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_make_token_is_an_unsigned_jwt(sim: Simulator) -> None:
    header, payload, signature = make_token(sim.tenant_id, "app-1", ["Role.A"]).split(".")
    assert signature == ""
    assert _b64json(header) == {"alg": "none", "typ": "JWT"}
    claims = _b64json(payload)
    assert (claims["tid"], claims["appid"], claims["roles"]) == (sim.tenant_id, "app-1", ["Role.A"])
    assert "aud" in claims


# --- create user -----------------------------------------------------------------------------


def test_create_user_returns_201_with_the_user(graph: httpx.Client, tenant_file: Path) -> None:
    response = graph.post("/users", json=new_user())
    assert response.status_code == 201
    body = response.json()
    assert body["@odata.context"].endswith("/v1.0/$metadata#users/$entity")
    assert set(body) == DEFAULT_SET | {"@odata.context"}
    assert body["userPrincipalName"] == "cronofy-svc@contoso.com"
    assert body["displayName"] == "Cronofy service"
    uuid.UUID(body["id"])
    assert "request-id" in response.headers
    stored = next(u for u in read_tenant(tenant_file)["users"] if u["id"] == body["id"])
    assert stored["passwordHash"].startswith("sha256$")
    for path in tenant_file.parent.iterdir():  # the tenant file and its journal
        assert GOOD_PASSWORD not in path.read_text()
    assert "passwordHash" not in graph.get(f"/users/{body['id']}?$select=id,passwordProfile").text


def test_duplicate_upn_is_rejected(graph: httpx.Client) -> None:
    assert graph.post("/users", json=new_user()).status_code == 201
    response = graph.post("/users", json=new_user("Cronofy-SVC@contoso.com"))
    error = assert_error(
        response,
        400,
        "Request_BadRequest",
        "Another object with the same value for property userPrincipalName already exists.",
    )
    assert error["details"] == [{"target": "userPrincipalName", "code": "ObjectConflict"}]


def test_upn_on_unverified_domain_is_rejected(graph: httpx.Client) -> None:
    response = graph.post("/users", json=new_user("svc@fabrikam.com"))
    assert_error(
        response,
        400,
        "Request_BadRequest",
        "The domain portion of the userPrincipalName property is invalid. "
        "You must use one of the verified domain names in your organization.",
    )


@pytest.mark.parametrize("password", ["Ab1!xyz", "alllowercase1", "NoDigitsOrSymbols", "12345678!"])
def test_weak_password_is_rejected(graph: httpx.Client, password: str) -> None:
    body = new_user(passwordProfile={"password": password})
    assert_error(
        graph.post("/users", json=body),
        400,
        "Request_BadRequest",
        "The specified password does not comply with password complexity requirements. "
        "Please provide a different password.",
    )


@pytest.mark.parametrize("missing", ["accountEnabled", "displayName", "mailNickname", "userPrincipalName"])
def test_missing_required_property_is_rejected(graph: httpx.Client, missing: str) -> None:
    body = new_user()
    del body[missing]
    message = f"Invalid value specified for property '{missing}' of resource 'User'."
    assert_error(graph.post("/users", json=body), 400, "Request_BadRequest", message)


def test_missing_password_is_rejected(graph: httpx.Client) -> None:
    body = new_user(passwordProfile={"forceChangePasswordNextSignIn": True})
    message = "Invalid value specified for property 'passwordProfile' of resource 'User'."
    assert_error(graph.post("/users", json=body), 400, "Request_BadRequest", message)


def test_unknown_property_and_empty_body_are_rejected(graph: httpx.Client) -> None:
    assert_error(graph.post("/users", json=new_user(favouriteColour="blue")), 400, "BadRequest")
    assert_error(graph.post("/users"), 400, "BadRequest", "Empty Payload. JSON content expected.")
    assert_error(graph.post("/users", content=b"{nope"), 400, "BadRequest")


# --- get / list users ------------------------------------------------------------------------


def test_get_user_by_upn_is_case_insensitive_with_default_set(graph: httpx.Client) -> None:
    response = graph.get("/users/ADMIN@Contoso.OnMicrosoft.com")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == DEFAULT_SET | {"@odata.context"}
    assert body["userPrincipalName"] == ADMIN
    assert graph.get(f"/users/{body['id']}").json() == body


def test_get_user_with_select_returns_exactly_those(graph: httpx.Client) -> None:
    body = graph.get(f"/users/{ADMIN}", params={"$select": "usageLocation,assignedLicenses"}).json()
    assert set(body) == {"@odata.context", "usageLocation", "assignedLicenses"}
    assert body["@odata.context"].endswith("$metadata#users(usageLocation,assignedLicenses)/$entity")
    assert body["usageLocation"] == "US"
    assert body["assignedLicenses"] == [{"disabledPlans": [], "skuId": E3}]


def test_select_of_unknown_property_is_400(graph: httpx.Client) -> None:
    assert_error(graph.get(f"/users/{ADMIN}?$select=shoeSize"), 400, "BadRequest")


def test_missing_user_is_404(graph: httpx.Client) -> None:
    assert_error(
        graph.get("/users/cronofy-svc@contoso.com"),
        404,
        "Request_ResourceNotFound",
        "Resource 'cronofy-svc@contoso.com' does not exist or one of its queried reference-property "
        "objects are not present.",
    )


def test_list_users_filters(graph: httpx.Client) -> None:
    by_upn = graph.get("/users", params={"$filter": "userPrincipalName eq 'USER002@contoso.com'"}).json()
    assert [u["userPrincipalName"] for u in by_upn["value"]] == ["user002@contoso.com"]
    by_alias = graph.get("/users", params={"$filter": "mailNickname eq 'user003'", "$select": "id,mail"}).json()
    assert by_alias["value"] == [{"id": by_alias["value"][0]["id"], "mail": "user003@contoso.com"}]
    assert by_alias["@odata.context"].endswith("$metadata#users(id,mail)")
    starts = graph.get("/users", params={"$filter": "startswith(displayName,'User 00')"}).json()
    assert len(starts["value"]) == 5
    none = graph.get("/users", params={"$filter": "userPrincipalName eq 'cronofy-svc@contoso.com'"}).json()
    assert none["value"] == []
    assert_error(graph.get("/users", params={"$filter": "displayName ne 'x'"}), 400, "Request_UnsupportedQuery")


def test_list_users_pages_with_absolute_next_link(graph: httpx.Client, sim: Simulator) -> None:
    seen: list[str] = []
    url: str | None = f"{sim.base_url}/v1.0/users?$top=2&$select=userPrincipalName"
    pages = 0
    while url:
        body = graph.get(url).json()
        seen += [u["userPrincipalName"] for u in body["value"]]
        url = body.get("@odata.nextLink")
        assert url is None or (url.startswith(f"{sim.base_url}/v1.0/users?") and "$skiptoken=" in url)
        pages += 1
    assert pages == 3
    assert seen == [ADMIN] + [f"user00{n}@contoso.com" for n in range(1, 6)]
    assert "@odata.nextLink" not in graph.get("/users").json()


def test_top_above_999_is_rejected(graph: httpx.Client) -> None:
    message = "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."
    assert_error(graph.get("/users?$top=1000"), 400, "Request_UnsupportedQuery", message)


# --- update / delete -------------------------------------------------------------------------


def test_patch_user_returns_204_and_persists(graph: httpx.Client, tenant_file: Path) -> None:
    user_id = graph.post("/users", json=new_user()).json()["id"]
    patch = {
        "usageLocation": "GB",
        "accountEnabled": False,
        "displayName": "Svc",
        "givenName": "S",
        "surname": "V",
    }
    response = graph.patch(f"/users/{user_id}", json=patch)
    assert response.status_code == 204
    assert response.content == b""
    got = graph.get(f"/users/{user_id}?$select=usageLocation,accountEnabled,displayName,givenName,surname").json()
    assert {k: got[k] for k in patch} == patch
    with Simulator(tenant_file) as again:
        token = make_token(again.tenant_id, "app")
        other = httpx.get(f"{again.base_url}/v1.0/users/{user_id}", headers={"Authorization": f"Bearer {token}"})
        assert other.json()["displayName"] == "Svc"


def test_patch_rejects_read_only_and_bad_values(graph: httpx.Client) -> None:
    user_id = graph.post("/users", json=new_user()).json()["id"]
    message = "Property 'id' is read-only and cannot be set."
    assert_error(graph.patch(f"/users/{user_id}", json={"id": str(uuid.uuid4())}), 400, "Request_BadRequest", message)
    assert_error(graph.patch(f"/users/{user_id}", json={"usageLocation": "USA"}), 400, "Request_BadRequest")
    weak = {"passwordProfile": {"password": "short"}}
    assert_error(graph.patch(f"/users/{user_id}", json=weak), 400, "Request_BadRequest")
    dup = {"userPrincipalName": ADMIN}
    assert_error(graph.patch(f"/users/{user_id}", json=dup), 400, "Request_BadRequest")
    ok = {"passwordProfile": {"password": GOOD_PASSWORD + "2"}, "userPrincipalName": "svc2@contoso.com"}
    assert graph.patch(f"/users/{user_id}", json=ok).status_code == 204
    assert graph.get("/users/svc2@contoso.com").json()["id"] == user_id


def test_delete_user_returns_204_and_frees_licences(graph: httpx.Client) -> None:
    before = sku(graph, E3)["consumedUnits"]
    response = graph.delete("/users/user001@contoso.com")
    assert response.status_code == 204
    assert response.content == b""
    assert graph.get("/users/user001@contoso.com").status_code == 404
    assert sku(graph, E3)["consumedUnits"] == before - 1
    assert graph.delete("/users/user001@contoso.com").status_code == 404


# --- licences --------------------------------------------------------------------------------


def test_assign_license_without_usage_location_is_rejected(graph: httpx.Client) -> None:
    graph.post("/users", json=new_user())
    message = "License assignment cannot be done for user with invalid usage location."
    assert_error(licenses("cronofy-svc@contoso.com", graph, [EXCHANGE_P1]), 400, "Request_BadRequest", message)


def test_assign_unknown_sku_is_rejected(graph: httpx.Client) -> None:
    bogus = "c7df2760-2c81-4ef7-b578-5b5392b571df"
    message = f"License {bogus} does not correspond to a valid company License."
    assert_error(licenses(ADMIN, graph, [bogus]), 400, "Request_BadRequest", message)


def test_assign_license_with_no_units_left_is_rejected(tenant_file: Path) -> None:
    def exhaust(data: dict[str, Any]) -> None:
        exchange = next(s for s in data["subscribedSkus"] if s["skuId"] == EXCHANGE_P1)
        exchange["prepaidUnits"]["enabled"] = 0

    edit_tenant(tenant_file, exhaust)
    with Simulator(tenant_file) as sim:
        client = httpx.Client(base_url=f"{sim.base_url}/v1.0")
        client.headers["Authorization"] = f"Bearer {make_token(sim.tenant_id, 'app')}"
        response = licenses(ADMIN, client, [EXCHANGE_P1])
        message = f"Subscription with SKU {EXCHANGE_P1} does not have any available licenses."
        assert_error(response, 400, "Request_BadRequest", message)


def test_assign_and_remove_license_keeps_units_in_step(graph: httpx.Client) -> None:
    user_id = graph.post("/users", json=new_user(usageLocation="US")).json()["id"]
    before = sku(graph, EXCHANGE_P1)["consumedUnits"]
    response = licenses(user_id, graph, [EXCHANGE_P1])
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == user_id
    assert body["assignedLicenses"] == [{"disabledPlans": [], "skuId": EXCHANGE_P1}]
    assert sku(graph, EXCHANGE_P1)["consumedUnits"] == before + 1
    assert licenses(user_id, graph, [EXCHANGE_P1]).status_code == 200  # re-adding is idempotent
    assert sku(graph, EXCHANGE_P1)["consumedUnits"] == before + 1
    assert licenses(user_id, graph, [], [EXCHANGE_P1]).json()["assignedLicenses"] == []
    assert sku(graph, EXCHANGE_P1)["consumedUnits"] == before
    message = "User does not have a corresponding license."
    assert_error(licenses(user_id, graph, [], [EXCHANGE_P1]), 400, "Request_BadRequest", message)


def test_assign_license_requires_both_parameters(graph: httpx.Client) -> None:
    response = graph.post(f"/users/{ADMIN}/assignLicense", json={"addLicenses": []})
    assert_error(response, 400, "BadRequest")
    assert "removeLicenses" in response.json()["error"]["message"]


def test_license_details_shape(graph: httpx.Client) -> None:
    admin_id = graph.get(f"/users/{ADMIN}").json()["id"]
    body = graph.get(f"/users/{admin_id}/licenseDetails").json()
    assert body["@odata.context"].endswith(f"$metadata#users('{admin_id}')/licenseDetails")
    [detail] = body["value"]
    assert set(detail) == {"id", "skuId", "skuPartNumber", "servicePlans"}
    assert (detail["skuId"], detail["skuPartNumber"]) == (E3, "ENTERPRISEPACK")
    plan = next(p for p in detail["servicePlans"] if p["servicePlanName"] == "EXCHANGE_S_ENTERPRISE")
    assert plan == {
        "servicePlanId": "efb87545-963c-4e0d-99df-69c6916d9eb0",
        "servicePlanName": "EXCHANGE_S_ENTERPRISE",
        "provisioningStatus": "Success",
        "appliesTo": "User",
    }
    assert graph.get("/users/nobody@contoso.com/licenseDetails").status_code == 404


def test_subscribed_skus_shape(graph: httpx.Client) -> None:
    body = graph.get("/subscribedSkus").json()
    assert body["@odata.context"].endswith("$metadata#subscribedSkus")
    by_part = {s["skuPartNumber"]: s for s in body["value"]}
    assert set(by_part) == {"ENTERPRISEPACK", "EXCHANGESTANDARD", "FLOW_FREE"}
    e3 = by_part["ENTERPRISEPACK"]
    assert set(e3) == {
        "accountId", "accountName", "appliesTo", "capabilityStatus", "consumedUnits", "id",
        "prepaidUnits", "servicePlans", "skuId", "skuPartNumber", "subscriptionIds",
    }  # fmt: skip
    assert set(e3["prepaidUnits"]) == {"enabled", "suspended", "warning", "lockedOut"}
    assert e3["skuId"] == E3 and e3["consumedUnits"] == 6 and e3["prepaidUnits"]["enabled"] == 30
    assert by_part["EXCHANGESTANDARD"]["skuId"] == EXCHANGE_P1
    assert by_part["FLOW_FREE"]["skuId"] == FLOW_FREE
    assert by_part["FLOW_FREE"]["prepaidUnits"]["enabled"] == 10000
    one = graph.get(f"/subscribedSkus/{e3['id']}?$select=skuId,consumedUnits").json()
    assert {k: v for k, v in one.items() if k != "@odata.context"} == {"skuId": E3, "consumedUnits": 6}


# --- routing ---------------------------------------------------------------------------------


def test_unknown_segment_and_method(graph: httpx.Client) -> None:
    message = "Resource not found for the segment 'widgets'."
    assert_error(graph.get("/widgets"), 400, "BadRequest", message)
    assert_error(graph.put("/users", json={}), 405, "Request_BadRequest")


# --- faults ----------------------------------------------------------------------------------


def _fault(tenant_file: Path, **fault: Any) -> None:
    edit_tenant(tenant_file, lambda data: data["faults"].append(fault))


@pytest.mark.parametrize(("status", "code"), [(429, "TooManyRequests"), (503, "serviceNotAvailable")])
def test_fault_returns_status_with_retry_after_then_clears(tenant_file: Path, status: int, code: str) -> None:
    _fault(
        tenant_file,
        method="GET",
        path=r"^/users/[^/]+/licenseDetails$",
        status=status,
        times=2,
        retry_after=7,
    )
    with Simulator(tenant_file) as sim:
        client = httpx.Client(base_url=f"{sim.base_url}/v1.0")
        client.headers["Authorization"] = f"Bearer {make_token(sim.tenant_id, 'app')}"
        for remaining in (1, 0):
            response = client.get(f"/users/{ADMIN}/licenseDetails")
            assert_error(response, status, code)
            assert response.headers["retry-after"] == "7"
            assert read_tenant(tenant_file)["faults"][0]["times"] == remaining
        assert client.get(f"/users/{ADMIN}/licenseDetails").status_code == 200
        assert client.get(f"/users/{ADMIN}").status_code == 200


def test_fault_500_has_no_retry_after_and_matches_method(tenant_file: Path) -> None:
    _fault(tenant_file, method="POST", path="^/users$", status=500, times=1)
    with Simulator(tenant_file) as sim:
        client = httpx.Client(base_url=f"{sim.base_url}/v1.0")
        client.headers["Authorization"] = f"Bearer {make_token(sim.tenant_id, 'app')}"
        assert client.get("/users").status_code == 200
        response = client.post("/users", json=new_user())
        assert_error(response, 500, "generalException")
        assert "retry-after" not in response.headers
        assert client.post("/users", json=new_user()).status_code == 201


# --- $batch ----------------------------------------------------------------------------------


def test_batch_runs_inner_requests_through_the_same_handlers(graph: httpx.Client, sim: Simulator) -> None:
    before = sim.requests_served
    requests = [
        {"id": "1", "method": "GET", "url": f"/users/{ADMIN}?$select=id,usageLocation"},
        {"id": "2", "method": "POST", "url": "/users", "headers": {"Content-Type": "application/json"},
         "body": new_user()},
        {"id": "3", "method": "POST", "url": "/users", "headers": {"Content-Type": "application/json"},
         "body": new_user(), "dependsOn": ["2"]},
        {"id": "4", "method": "GET", "url": "users/nobody@contoso.com"},
        {"id": "5", "method": "PATCH", "url": "/users/nobody@contoso.com", "dependsOn": ["4"],
         "headers": {"Content-Type": "application/json"}, "body": {"usageLocation": "US"}},
    ]  # fmt: skip
    response = graph.post("/$batch", json={"requests": requests})
    assert response.status_code == 200
    assert sim.requests_served == before + 1
    by_id = {r["id"]: r for r in response.json()["responses"]}
    assert by_id["1"]["status"] == 200 and by_id["1"]["body"]["usageLocation"] == "US"
    assert set(by_id["1"]["body"]) == {"@odata.context", "id", "usageLocation"}
    assert by_id["1"]["headers"]["Content-Type"].startswith("application/json")
    assert by_id["2"]["status"] == 201 and by_id["2"]["body"]["userPrincipalName"] == "cronofy-svc@contoso.com"
    assert by_id["3"]["status"] == 400
    assert by_id["3"]["body"]["error"]["message"].startswith("Another object with the same value")
    assert by_id["4"]["status"] == 404 and by_id["4"]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert by_id["5"]["status"] == 424
    assert graph.get("/users/cronofy-svc@contoso.com").status_code == 200


def test_batch_limits_and_ids(graph: httpx.Client) -> None:
    many = [{"id": str(n), "method": "GET", "url": "/subscribedSkus"} for n in range(21)]
    assert_error(graph.post("/$batch", json={"requests": many}), 400, "BadRequest")
    assert graph.post("/$batch", json={"requests": many[:20]}).status_code == 200
    dup = [{"id": "1", "method": "GET", "url": "/users"}, {"id": "1", "method": "GET", "url": "/users"}]
    assert_error(graph.post("/$batch", json={"requests": dup}), 400, "BadRequest")
    assert_error(graph.post("/$batch", json={"value": []}), 400, "BadRequest")


def test_batch_inner_body_needs_content_type(graph: httpx.Client) -> None:
    requests = [{"id": "1", "method": "POST", "url": "/users", "body": new_user()}]
    [inner] = graph.post("/$batch", json={"requests": requests}).json()["responses"]
    assert inner["status"] == 400


def test_faults_apply_inside_batch(tenant_file: Path) -> None:
    _fault(tenant_file, method="GET", path="^/subscribedSkus$", status=429, times=1, retry_after=3)
    with Simulator(tenant_file) as sim:
        client = httpx.Client(base_url=f"{sim.base_url}/v1.0")
        client.headers["Authorization"] = f"Bearer {make_token(sim.tenant_id, 'app')}"
        requests = [
            {"id": "a", "method": "GET", "url": "/subscribedSkus"},
            {"id": "b", "method": "GET", "url": "/users"},
        ]
        response = client.post("/$batch", json={"requests": requests})
        assert response.status_code == 200
        by_id = {r["id"]: r for r in response.json()["responses"]}
        assert by_id["a"]["status"] == 429 and by_id["a"]["headers"]["Retry-After"] == "3"
        assert by_id["a"]["body"]["error"]["code"] == "TooManyRequests"
        assert by_id["b"]["status"] == 200
        assert read_tenant(tenant_file)["faults"][0]["times"] == 0


# --- server ----------------------------------------------------------------------------------


def test_stats_are_not_counted_and_latency_applies(tenant_file: Path) -> None:
    with Simulator(tenant_file, latency_ms=60) as sim:
        headers = {"Authorization": f"Bearer {make_token(sim.tenant_id, 'app')}"}
        with httpx.Client(base_url=sim.base_url, headers=headers) as client:
            started = time.perf_counter()
            assert client.get("/v1.0/subscribedSkus").status_code == 200
            assert time.perf_counter() - started >= 0.06
            stats = {"requests_served": 1, "operations": {"graph GET": 1}, "latency_rounds": 1}  # log by operation too
            assert client.get("/_simulator/stats").json() == stats
            assert client.get("/_simulator/stats").json() == stats
            assert sim.requests_served == 1


def test_tenant_latency_setting_is_used(tenant_file: Path) -> None:
    edit_tenant(tenant_file, lambda data: data["settings"].update(latency_ms=40))
    assert Simulator(tenant_file).latency_ms == 40
    assert Simulator(tenant_file, latency_ms=5).latency_ms == 5


# --- the real msgraph-sdk client ------------------------------------------------------------


class _Credential:
    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(make_token(self.tenant_id, "app-sdk", ["User.ReadWrite.All"]), int(time.time()) + 3600)


def _sdk_client(sim: Simulator) -> Any:
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph.graph_request_adapter import GraphRequestAdapter
    from msgraph.graph_service_client import GraphServiceClient
    from msgraph_core import GraphClientFactory

    base = sim.base_url
    auth = AzureIdentityAuthenticationProvider(
        _Credential(sim.tenant_id),
        scopes=[base + "/.default"],
        allowed_hosts=["127.0.0.1"],
    )
    http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(base_url=base + "/v1.0"))
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = base + "/v1.0"
    return GraphServiceClient(request_adapter=adapter)


async def _sdk_flow(sim: Simulator) -> None:
    from kiota_abstractions.method import Method
    from kiota_abstractions.request_information import RequestInformation
    from msgraph.generated.models.assigned_license import AssignedLicense
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph.generated.models.password_profile import PasswordProfile
    from msgraph.generated.models.user import User
    from msgraph.generated.users.item.assign_license.assign_license_post_request_body import (
        AssignLicensePostRequestBody,
    )

    client = _sdk_client(sim)
    profile = PasswordProfile(password=GOOD_PASSWORD, force_change_password_next_sign_in=False)
    created = await client.users.post(
        User(
            account_enabled=True,
            display_name="Cronofy",
            mail_nickname="cronofy-svc",
            user_principal_name="cronofy-svc@contoso.com",
            password_profile=profile,
        )
    )
    assert created.id and created.user_principal_name == "cronofy-svc@contoso.com"
    got = await client.users.by_user_id("cronofy-svc@contoso.com").get()
    assert got.id == created.id and got.display_name == "Cronofy"

    await client.users.by_user_id(created.id).patch(User(usage_location="US", job_title="Service"))
    body = AssignLicensePostRequestBody(
        add_licenses=[AssignedLicense(sku_id=uuid.UUID(EXCHANGE_P1), disabled_plans=[])], remove_licenses=[]
    )
    assigned = await client.users.by_user_id(created.id).assign_license.post(body)
    assert [str(a.sku_id) for a in assigned.assigned_licenses] == [EXCHANGE_P1]
    details = await client.users.by_user_id(created.id).license_details.get()
    assert [d.sku_part_number for d in details.value] == ["EXCHANGESTANDARD"]
    skus = await client.subscribed_skus.get()
    exchange = next(s for s in skus.value if s.sku_part_number == "EXCHANGESTANDARD")
    assert (exchange.consumed_units, exchange.prepaid_units.enabled) == (1, 10)

    with pytest.raises(ODataError) as raised:
        await client.users.by_user_id("nobody@contoso.com").get()
    assert raised.value.response_status_code == 404
    assert raised.value.error is not None and raised.value.error.code == "Request_ResourceNotFound"

    # A $batch through the SDK's own pipeline (auth + middleware).
    batch = RequestInformation(Method.POST, sim.base_url + "/v1.0/$batch")
    payload = {"requests": [{"id": "1", "method": "GET", "url": f"/users/{created.id}?$select=jobTitle"}]}
    batch.set_stream_content(json.dumps(payload).encode(), "application/json")
    raw = await client.request_adapter.send_primitive_async(batch, "bytes", {})
    [inner] = json.loads(raw)["responses"]
    assert inner["status"] == 200 and inner["body"]["jobTitle"] == "Service"


def test_msgraph_sdk_round_trip(sim: Simulator) -> None:
    asyncio.run(_sdk_flow(sim))


def test_msgraph_sdk_retries_a_429(tenant_file: Path) -> None:
    _fault(tenant_file, method="GET", path="^/subscribedSkus$", status=429, times=1, retry_after=1)
    with Simulator(tenant_file) as sim:

        async def fetch() -> Any:
            return await _sdk_client(sim).subscribed_skus.get()

        skus = asyncio.run(fetch())
        assert len(skus.value) == 3
        assert sim.requests_served == 2  # the throttled attempt and the retry
        assert read_tenant(tenant_file)["faults"][0]["times"] == 0


def test_msgraph_sdk_batch_request_content(sim: Simulator) -> None:
    pytest.importorskip("deprecated")  # msgraph-core's batch module imports it without declaring it
    from msgraph_core.requests.batch_request_content import BatchRequestContent
    from msgraph_core.requests.batch_request_item import BatchRequestItem

    async def run() -> dict[str, int]:
        client = _sdk_client(sim)
        items = {
            "skus": BatchRequestItem(client.subscribed_skus.to_get_request_information()),
            "admin": BatchRequestItem(client.users.by_user_id(ADMIN).to_get_request_information()),
            "nobody": BatchRequestItem(client.users.by_user_id("nobody@contoso.com").to_get_request_information()),
        }
        response = await client.batch.post(BatchRequestContent(items))
        codes = response.get_response_status_codes()
        return {name: codes[item.id] for name, item in items.items()}  # the SDK assigns its own ids

    assert asyncio.run(run()) == {"skus": 200, "admin": 200, "nobody": 404}


def test_init_tenant_is_importable_from_package(tmp_path: Path) -> None:
    data = init_tenant(tmp_path / "t.json")
    assert data["tenant"]["initialDomain"] == "contoso.onmicrosoft.com"
