"""Every Graph route the simulator serves answers in the shape Microsoft's v1.0 CSDL gives its type.

For each route in ``reconciler.simulator.graph.ROUTES`` (and ``$batch``): each entity is checked by
:class:`tests.simulator.csdl.Csdl` (property names, Edm types, enums, complex types, collections, nullability),
every documented property is present when there is no ``$select`` and only the selected ones with one, and
``@odata.context`` is the form the route's Microsoft Learn page shows. The CSDL itself is not committed
(tests/simulator/data/README.md); without it these tests skip.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.simulator import Simulator, compact_tenant, init_tenant, make_token, run_shell_lines
from reconciler.simulator.graph import ROUTES
from tests.simulator.csdl import Csdl, find_csdl

ADMIN = "admin@contoso.onmicrosoft.com"
MAILBOX = "alice@contoso.com"
ROOM = "boardroom@contoso.com"
ROOM_LIST = "meetingrooms@contoso.com"
E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
CRONOFY = "10bb7e5b-b80b-4e6e-a209-f78581dbc79e"

# https://learn.microsoft.com/en-us/graph/api/user-get (the default property set)
USER_DEFAULT = [
    "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
    "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id",
]  # fmt: skip
# https://learn.microsoft.com/en-us/graph/api/resources/serviceprincipal ("Returned only on $select")
SP_SELECT_ONLY = ["customSecurityAttributes"]


@pytest.fixture(scope="module")
def csdl() -> Csdl:
    path = find_csdl()
    if path is None or not path.exists():
        pytest.skip("Graph v1.0 CSDL not found (tests/simulator/data/README.md says where it comes from)")
    return Csdl(path)


@dataclass
class Graph:
    sim: Simulator
    client: httpx.Client
    csdl: Csdl
    problems: list[str]

    @property
    def root(self) -> str:
        return f"{self.sim.base_url}/v1.0/$metadata#"

    def call(self, method: str, path: str, status: int, **kwargs: Any) -> Any:
        response = self.client.request(method, path, **kwargs)
        if response.status_code != status:
            self.problems.append(f"{method} {path}: HTTP {response.status_code}, expected {status}: {response.text}")
            return None
        return response.json() if response.content else None

    def entity(self, label: str, body: Any, type_name: str, expected: list[str] | None, context: str | None) -> None:
        if body is None:
            return
        if context is not None and body.get("@odata.context") != self.root + context:
            self.problems.append(f"{label}: @odata.context {body.get('@odata.context')!r}, expected {context!r}")
        self.problems += [f"{label}: {p}" for p in self.csdl.check_entity(body, type_name, expected=expected)]

    def collection(
        self, label: str, body: Any, type_name: str, expected: list[str] | None, context: str, *, minimum: int = 1
    ) -> list[Any]:
        if body is None:
            return []
        if body.get("@odata.context") != self.root + context:
            self.problems.append(f"{label}: @odata.context {body.get('@odata.context')!r}, expected {context!r}")
        extra = sorted(set(body) - {"@odata.context", "@odata.nextLink", "@odata.count", "value"})
        if extra:
            self.problems.append(f"{label}: unexpected collection keys {extra}")
        values: list[Any] = body.get("value", [])
        if len(values) < minimum:
            self.problems.append(f"{label}: {len(values)} items, expected at least {minimum}")
        for n, item in enumerate(values):
            if "@odata.context" in item:
                self.problems.append(f"{label}[{n}]: an item of a collection carries no @odata.context")
            self.entity(f"{label}[{n}]", item, type_name, expected, None)
        return values


@pytest.fixture
def graph(tmp_path: Path, csdl: Csdl) -> Iterator[Graph]:
    path = tmp_path / "tenant.json"
    init_tenant(path, users=3, rooms=3)
    run_shell_lines(path, ["New-DistributionGroup -Name 'Meeting Rooms' -RoomList -Members boardroom@contoso.com"])
    compact_tenant(path)
    with Simulator(path) as sim:
        token = make_token(sim.tenant_id, "00000000-0000-0000-0000-0000000000ad", ["Directory.ReadWrite.All"])
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"{sim.base_url}/v1.0", headers=headers, timeout=30) as client:
            yield Graph(sim, client, csdl, [])


def _quoted(key: str) -> str:
    return key.replace("@", "%40")


# --- the routes ------------------------------------------------------------------------------------


def check_users(g: Graph) -> None:
    """users: get, list, create, update, $select."""
    # https://learn.microsoft.com/en-us/graph/api/user-get
    g.entity("GET /users/{upn}", g.call("GET", f"/users/{ADMIN}", 200), "user", USER_DEFAULT, "users/$entity")
    selected = "displayName,accountEnabled,assignedLicenses,usageLocation,id"
    body = g.call("GET", f"/users/{ADMIN}?$select={selected}", 200)
    g.entity("GET /users/{upn}?$select", body, "user", selected.split(","), f"users({selected})/$entity")
    # https://learn.microsoft.com/en-us/graph/api/user-list
    g.collection("GET /users", g.call("GET", "/users", 200), "user", USER_DEFAULT, "users")
    body = g.call("GET", "/users?$select=id,displayName,mail", 200)
    g.collection("GET /users?$select", body, "user", ["id", "displayName", "mail"], "users(id,displayName,mail)")
    # https://learn.microsoft.com/en-us/graph/api/user-post-users
    new = {
        "accountEnabled": True,
        "displayName": "Cronofy service",
        "mailNickname": "cronofy-svc",
        "userPrincipalName": "cronofy-svc@contoso.com",
        "passwordProfile": {"forceChangePasswordNextSignIn": False, "password": "xWwvJ]6NMw+bWH-d"},
    }
    created = g.call("POST", "/users", 201, json=new)
    g.entity("POST /users", created, "user", USER_DEFAULT, "users/$entity")
    # https://learn.microsoft.com/en-us/graph/api/user-update: 204, no body
    if created is not None:
        g.call("PATCH", f"/users/{created['id']}", 204, json={"jobTitle": "Service", "usageLocation": "US"})


def check_licenses(g: Graph) -> None:
    """assignLicense, licenseDetails, subscribedSkus (list and get)."""
    # https://learn.microsoft.com/en-us/graph/api/user-assignlicense (the user, as user-get returns it)
    user = g.call("GET", f"/users/{ADMIN}?$select=id", 200) or {"id": ""}
    body = g.call("POST", f"/users/{ADMIN}/assignLicense", 200, json={"addLicenses": [], "removeLicenses": [E3]})
    g.entity("POST assignLicense", body, "user", [*USER_DEFAULT, "assignedLicenses"], "users/$entity")
    g.call("POST", f"/users/{ADMIN}/assignLicense", 200, json={"addLicenses": [{"skuId": E3}], "removeLicenses": []})
    # https://learn.microsoft.com/en-us/graph/api/user-list-licensedetails
    details = g.call("GET", f"/users/{ADMIN}/licenseDetails", 200)
    every = g.csdl.all_properties("licenseDetails")
    g.collection("GET licenseDetails", details, "licenseDetails", every, f"users('{user['id']}')/licenseDetails")
    # https://learn.microsoft.com/en-us/graph/api/subscribedsku-list, subscribedsku-get
    every = g.csdl.all_properties("subscribedSku")
    skus = g.collection(
        "GET /subscribedSkus", g.call("GET", "/subscribedSkus", 200), "subscribedSku", every, "subscribedSkus"
    )
    body = g.call("GET", "/subscribedSkus?$select=skuId,skuPartNumber", 200)
    g.collection(
        "GET /subscribedSkus?$select",
        body,
        "subscribedSku",
        ["skuId", "skuPartNumber"],
        "subscribedSkus(skuId,skuPartNumber)",
    )
    if skus:
        body = g.call("GET", f"/subscribedSkus/{skus[0]['id']}", 200)
        g.entity("GET /subscribedSkus/{id}", body, "subscribedSku", every, "subscribedSkus/$entity")


def check_service_principals(g: Graph) -> None:
    """servicePrincipals: list (with $filter) and get by appId (with $select, as reconciler asks)."""
    # https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list
    every = g.csdl.all_properties("servicePrincipal", without=SP_SELECT_ONLY)
    body = g.call("GET", "/servicePrincipals", 200)
    g.collection("GET /servicePrincipals", body, "servicePrincipal", every, "servicePrincipals")
    body = g.call("GET", f"/servicePrincipals?$filter=appId eq '{CRONOFY}'", 200)
    g.collection("GET /servicePrincipals?$filter", body, "servicePrincipal", every, "servicePrincipals")
    # https://learn.microsoft.com/en-us/graph/api/serviceprincipal-get
    body = g.call("GET", f"/servicePrincipals(appId='{CRONOFY}')", 200)
    g.entity("GET /servicePrincipals(appId=)", body, "servicePrincipal", every, "servicePrincipals/$entity")
    body = g.call("GET", f"/servicePrincipals(appId='{CRONOFY}')?$select=id,appId", 200)
    g.entity(
        "GET /servicePrincipals(appId=)?$select",
        body,
        "servicePrincipal",
        ["id", "appId"],
        "servicePrincipals(id,appId)/$entity",
    )
    # https://learn.microsoft.com/en-us/graph/api/serviceprincipal-list-approleassignments: an admin's consent
    sp = next(s for s in g.sim.store.data["servicePrincipals"] if s["appId"] == CRONOFY)
    consent = {
        "id": "Dnj0ZDxlq0uBSP37sjv6VVOE6nkB8JlOgzUtWqIBR3I",
        "deletedDateTime": None,
        "appRoleId": "ef54d2bf-783f-4e0f-bca1-3210c0444d99",
        "createdDateTime": "2026-11-02T10:00:00Z",
        "principalDisplayName": sp["displayName"],
        "principalId": sp["id"],
        "principalType": "ServicePrincipal",
        "resourceDisplayName": "Microsoft Graph",
        "resourceId": "7ea9e944-71ce-443d-811c-71e8023b0d46",
    }
    sp["appRoleAssignments"] = [consent]
    path = f"/servicePrincipals/{sp['id']}/appRoleAssignments"
    every = g.csdl.all_properties("appRoleAssignment")
    context = f"servicePrincipals('{sp['id']}')/appRoleAssignments"
    g.collection(f"GET {path}", g.call("GET", path, 200), "appRoleAssignment", every, context)
    # https://learn.microsoft.com/en-us/graph/api/serviceprincipal-delete-approleassignments: 204, no body
    g.call("DELETE", f"{path}/{consent['id']}", 204)


def check_calendar(g: Graph) -> None:
    """calendar and calendarPermissions: list, get, create, update, delete."""
    # https://learn.microsoft.com/en-us/graph/api/calendar-get
    every = g.csdl.all_properties("calendar")
    context = f"users('{_quoted(MAILBOX)}')/calendar/$entity"
    g.entity("GET calendar", g.call("GET", f"/users/{MAILBOX}/calendar", 200), "calendar", every, context)
    body = g.call("GET", f"/users/{MAILBOX}/calendar?$select=id", 200)
    g.entity("GET calendar?$select=id", body, "calendar", ["id"], f"users('{_quoted(MAILBOX)}')/calendar(id)/$entity")
    perms = f"/users/{MAILBOX}/calendar/calendarPermissions"
    context = f"users('{_quoted(MAILBOX)}')/calendar/calendarPermissions"
    every = g.csdl.all_properties("calendarPermission")
    # https://learn.microsoft.com/en-us/graph/api/calendar-post-calendarpermissions
    new = {"emailAddress": {"name": "Bob", "address": "bob@contoso.com"}, "role": "read"}
    created = g.call("POST", perms, 200, json=new)
    g.entity("POST calendarPermissions", created, "calendarPermission", every, context + "/$entity")
    # https://learn.microsoft.com/en-us/graph/api/calendar-list-calendarpermissions
    g.collection("GET calendarPermissions", g.call("GET", perms, 200), "calendarPermission", None, context, minimum=2)
    # https://learn.microsoft.com/en-us/graph/api/calendarpermission-get, calendarpermission-update
    default = g.call("GET", f"{perms}/RGVmYXVsdA==", 200)
    g.entity("GET calendarPermission (Default)", default, "calendarPermission", None, context + "/$entity")
    if created is not None:
        body = g.call("GET", f"{perms}/{created['id']}", 200)
        g.entity("GET calendarPermission", body, "calendarPermission", every, context + "/$entity")
        body = g.call("PATCH", f"{perms}/{created['id']}", 200, json={"role": "write"})
        g.entity("PATCH calendarPermission", body, "calendarPermission", every, context + "/$entity")
        # https://learn.microsoft.com/en-us/graph/api/calendarpermission-delete: 204, no body
        g.call("DELETE", f"{perms}/{created['id']}", 204)


def check_places(g: Graph) -> None:
    """places: rooms, room lists, the rooms of a room list, one place, and an update."""
    rooms = g.csdl.all_properties("room")
    lists = g.csdl.all_properties("roomList")
    # https://learn.microsoft.com/en-us/graph/api/place-list
    body = g.call("GET", "/places/microsoft.graph.room", 200)
    found = g.collection("GET /places/microsoft.graph.room", body, "room", rooms, "places/microsoft.graph.room")
    body = g.call("GET", "/places/microsoft.graph.roomlist", 200)
    g.collection("GET /places/microsoft.graph.roomlist", body, "roomList", lists, "places/microsoft.graph.roomList")
    body = g.call("GET", f"/places/{ROOM_LIST}/microsoft.graph.roomlist/rooms", 200)
    context = f"places('{_quoted(ROOM_LIST)}')/microsoft.graph.roomList/rooms"
    g.collection("GET /places/{list}/microsoft.graph.roomlist/rooms", body, "room", rooms, context)
    body = g.call("GET", "/places/microsoft.graph.room?$select=displayName,capacity", 200)
    context = "places/microsoft.graph.room(displayName,capacity)"
    g.collection("GET /places/microsoft.graph.room?$select", body, "room", ["id", "displayName", "capacity"], context)
    # https://learn.microsoft.com/en-us/graph/api/place-get
    if found:
        body = g.call("GET", f"/places/{found[0]['id']}", 200)
        g.entity("GET /places/{id}", body, "place", rooms, "places/$entity")
    g.entity("GET /places/{list}", g.call("GET", f"/places/{ROOM_LIST}", 200), "place", lists, "places/$entity")
    # https://learn.microsoft.com/en-us/graph/api/place-update (a delegated token with Place.ReadWrite.All)
    token = make_token(g.sim.tenant_id, "00000000-0000-0000-0000-0000000000ad", scopes=["Place.ReadWrite.All"])
    headers = {"Authorization": f"Bearer {token}"}
    update = {"@odata.type": "microsoft.graph.room", "capacity": 12, "building": "1", "tags": ["view"]}
    body = g.call("PATCH", f"/places/{ROOM}", 200, json=update, headers=headers)
    g.entity("PATCH /places/{room}", body, "place", rooms, "places/$entity")
    update = {"@odata.type": "microsoft.graph.roomList", "phone": "555-0100", "address": {"city": "Buffalo"}}
    body = g.call("PATCH", f"/places/{ROOM_LIST}", 200, json=update, headers=headers)
    g.entity("PATCH /places/{list}", body, "place", lists, "places/$entity")


def check_organization(g: Graph) -> None:
    """organization: list and get (https://learn.microsoft.com/en-us/graph/api/organization-list, organization-get)."""
    every = g.csdl.all_properties("organization")
    orgs = g.collection("GET /organization", g.call("GET", "/organization", 200), "organization", every, "organization")
    if orgs:
        body = g.call("GET", f"/organization/{orgs[0]['id']}", 200)
        g.entity("GET /organization/{id}", body, "organization", every, "organization/$entity")
        body = g.call("GET", f"/organization/{orgs[0]['id']}?$select=id,verifiedDomains", 200)
        context = "organization(id,verifiedDomains)/$entity"
        g.entity("GET /organization/{id}?$select", body, "organization", ["id", "verifiedDomains"], context)


def check_batch(g: Graph) -> None:
    """$batch: the envelope (https://learn.microsoft.com/en-us/graph/json-batching) and each inner body."""
    requests = [
        {"id": "1", "method": "GET", "url": f"/users/{ADMIN}"},
        {"id": "2", "method": "GET", "url": f"/users/{MAILBOX}/calendar/calendarPermissions"},
        {"id": "3", "method": "GET", "url": "/users/nobody@contoso.com"},
        {
            "id": "4",
            "method": "PATCH",
            "url": f"/users/{ADMIN}",
            "body": {"jobTitle": "x"},
            "headers": {"Content-Type": "application/json"},
        },
    ]
    body = g.call("POST", "/$batch", 200, json={"requests": requests})
    if body is None:
        return
    if set(body) != {"responses"}:
        g.problems.append(f"$batch: envelope keys {sorted(body)}, expected ['responses']")
    by_id = {r.get("id"): r for r in body.get("responses", [])}
    for item in by_id.values():
        keys = set(item)
        if not {"id", "status", "headers"} <= keys <= {"id", "status", "headers", "body"}:
            g.problems.append(f"$batch response {item.get('id')}: keys {sorted(keys)}")
    g.entity("$batch 1", by_id["1"].get("body"), "user", USER_DEFAULT, "users/$entity")
    context = f"users('{_quoted(MAILBOX)}')/calendar/calendarPermissions"
    g.collection("$batch 2", by_id["2"].get("body"), "calendarPermission", None, context)
    error = by_id["3"].get("body", {}).get("error", {})
    if by_id["3"]["status"] != 404 or not {"code", "message"} <= set(error):
        g.problems.append(f"$batch 3: {by_id['3']}")
    if by_id["4"]["status"] != 204 or "body" in by_id["4"]:
        g.problems.append(f"$batch 4: {by_id['4']}")


CHECKS: dict[str, Callable[[Graph], None]] = {
    "users": check_users,
    "licenses": check_licenses,
    "servicePrincipals": check_service_principals,
    "calendar": check_calendar,
    "places": check_places,
    "organization": check_organization,
    "$batch": check_batch,
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_graph_route_matches_the_v1_csdl(graph: Graph, name: str) -> None:
    CHECKS[name](graph)
    assert not graph.problems, "\n".join(graph.problems)


# handlers whose answers the checks above look at (delete_user answers 204 with no body)
HANDLERS_CHECKED = {
    "create_user", "list_users", "get_user", "update_user", "delete_user", "assign_license",
    "list_license_details", "list_subscribed_skus", "get_subscribed_sku", "get_calendar", "list_permissions",
    "create_permission", "get_permission", "update_permission", "delete_permission", "list_room_lists",
    "list_rooms", "list_rooms_in_list", "get_place", "update_place", "get_service_principal_by_app_id",
    "list_service_principals", "list_organization", "get_organization", "list_app_role_assignments",
    "delete_app_role_assignment",
}  # fmt: skip


def test_every_route_is_checked() -> None:
    """A route added to the router without a check here fails this test."""
    unchecked = [f"{m} {p.pattern} ({h.__name__})" for m, p, h in ROUTES if h.__name__ not in HANDLERS_CHECKED]
    assert not unchecked, "routes without a CSDL check: " + "; ".join(unchecked)


def test_coverage_of_the_csdl(graph: Graph) -> None:
    for check in CHECKS.values():
        check(graph)
    assert not graph.problems, "\n".join(graph.problems)
    csdl = graph.csdl
    types = sorted(csdl.used)
    total = sum(len(csdl.types[t].properties) for t in types)
    seen = len({pair for pair in csdl.checked if pair[0] in csdl.used})
    enums = [t for t in types if csdl.types[t].kind == "EnumType"]
    message = (
        f"Graph v1.0 CSDL ({csdl.path.name}): {len(CHECKS)} route groups, {len(types)} types "
        f"({len(enums)} enums), {seen} of {total} properties of those types seen in responses"
    )
    print(message)
    warnings.warn(message, UserWarning, stacklevel=1)  # a builtin category: xdist sends it to the summary
    assert re.search(r"\d+ types", message)
