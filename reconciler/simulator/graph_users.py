"""Graph v1.0 handlers for users, their licences and the tenant's subscribed SKUs.

Each handler cites the Microsoft Learn page its request/response shapes come from. Error codes
and messages are the ones the service is observed to return for the same condition.
"""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

from reconciler.simulator import odata
from reconciler.simulator.directory import hash_password, new_user, password_complex_enough
from reconciler.simulator.graph_common import GraphError, GraphRequest, GraphResult, json_object_body, now_iso

JsonObject = dict[str, Any]
Params = dict[str, str]

# https://learn.microsoft.com/en-us/graph/api/user-get?view=graph-rest-1.0 (default property set)
DEFAULT_USER_PROPERTIES = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
# https://learn.microsoft.com/en-us/graph/api/resources/user?view=graph-rest-1.0 (the subset simulated)
STRING_PROPERTIES = (
    "city",
    "companyName",
    "country",
    "department",
    "displayName",
    "employeeId",
    "givenName",
    "jobTitle",
    "mail",
    "mailNickname",
    "mobilePhone",
    "officeLocation",
    "passwordPolicies",
    "postalCode",
    "preferredLanguage",
    "state",
    "streetAddress",
    "surname",
    "usageLocation",
    "userPrincipalName",
)
WRITABLE_PROPERTIES = frozenset({*STRING_PROPERTIES, "accountEnabled", "businessPhones", "passwordProfile"})
READ_ONLY_PROPERTIES = frozenset({"id", "createdDateTime", "assignedLicenses"})
USER_PROPERTIES = (*sorted(WRITABLE_PROPERTIES), *sorted(READ_ONLY_PROPERTIES))
COLLECTIONS = frozenset({"businessPhones", "assignedLicenses"})
REQUIRED_ON_CREATE = ("accountEnabled", "displayName", "mailNickname", "passwordProfile", "userPrincipalName")
USER_OPTIONS = frozenset({"$select"})
LIST_OPTIONS = odata.SUPPORTED_OPTIONS
_UPN = re.compile(r"^[A-Za-z0-9'.\-_!#^~]+@[A-Za-z0-9.\-]+$")


def _bad(message: str, code: str = "Request_BadRequest", details: list[JsonObject] | None = None) -> GraphError:
    return GraphError(400, code, message, details=details)


def _invalid(prop: str) -> GraphError:
    return _bad(f"Invalid value specified for property '{prop}' of resource 'User'.")


def find_user(req: GraphRequest, key: str) -> JsonObject:
    user = req.store.find_user(key)
    if user is None:
        raise GraphError(
            404,
            "Request_ResourceNotFound",
            f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
        )
    return user


def user_view(req: GraphRequest, user: JsonObject, extra: tuple[str, ...] = ()) -> JsonObject:
    """A single user as Graph returns it: ``$select`` if given, else the default set (+ ``extra``)."""
    selected = odata.parse_select(req, USER_PROPERTIES, "user")
    names = selected if selected is not None else [*DEFAULT_USER_PROPERTIES, *extra]
    body: JsonObject = {"@odata.context": req.context(odata.select_context("users", selected, entity=True))}
    body.update(odata.project(user, names, COLLECTIONS))
    return body


# --- validation ------------------------------------------------------------------------------


def _check_types(body: JsonObject) -> None:
    for prop, value in body.items():
        if prop in STRING_PROPERTIES and value is not None and not isinstance(value, str):
            raise _invalid(prop)
        if prop == "accountEnabled" and not isinstance(value, bool):
            raise _invalid(prop)
        if prop == "businessPhones" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise _invalid(prop)
        if prop == "usageLocation" and value is not None and not re.fullmatch(r"[A-Za-z]{2}", value):
            raise _invalid(prop)


def _check_known(body: JsonObject) -> None:
    for prop in body:
        if prop.startswith("@odata."):
            continue
        if prop in READ_ONLY_PROPERTIES:
            raise _bad(f"Property '{prop}' is read-only and cannot be set.")
        if prop not in WRITABLE_PROPERTIES:
            raise _bad(
                f"The property '{prop}' does not exist on type 'microsoft.graph.user'. "
                "Make sure to only use property names that are defined by the type.",
                code="BadRequest",
            )


def _check_upn(req: GraphRequest, upn: str, current: JsonObject | None = None) -> None:
    if not _UPN.match(upn):
        raise _bad("Property userPrincipalName is invalid.")
    domain = upn.rsplit("@", 1)[1].lower()
    if domain not in {d.lower() for d in req.store.tenant["domains"]}:
        raise _bad(
            "The domain portion of the userPrincipalName property is invalid. "
            "You must use one of the verified domain names in your organization."
        )
    other = req.store.find_user(upn)
    if other is not None and other is not current:
        raise _bad(
            "Another object with the same value for property userPrincipalName already exists.",
            details=[{"target": "userPrincipalName", "code": "ObjectConflict"}],
        )


def _password_hash(profile: Any, salt: str) -> str:
    password = profile.get("password") if isinstance(profile, dict) else None
    if not isinstance(password, str) or not password:
        raise _invalid("passwordProfile")
    if not password_complex_enough(password):
        raise _bad(
            "The specified password does not comply with password complexity requirements. "
            "Please provide a different password."
        )
    return hash_password(password, salt)


def _profile(profile: Any) -> JsonObject:
    """passwordProfile as stored and returned on $select: the password is never returned (null).
    https://learn.microsoft.com/en-us/graph/api/resources/passwordprofile ("If not set, default is false")"""
    given = profile if isinstance(profile, dict) else {}
    return {
        "forceChangePasswordNextSignIn": bool(given.get("forceChangePasswordNextSignIn", False)),
        "forceChangePasswordNextSignInWithMfa": bool(given.get("forceChangePasswordNextSignInWithMfa", False)),
        "password": None,
    }


def _apply(user: JsonObject, body: JsonObject) -> None:
    for prop, value in body.items():
        if prop.startswith("@odata.") or prop in ("passwordProfile", "userPrincipalName"):
            continue
        user[prop] = value.upper() if prop == "usageLocation" and value else value


# --- users -----------------------------------------------------------------------------------


def create_user(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/user-post-users?view=graph-rest-1.0"""
    body = json_object_body(req)
    _check_known(body)
    for prop in REQUIRED_ON_CREATE:
        if body.get(prop) is None or body.get(prop) == "":
            raise _invalid(prop)
    _check_types(body)
    upn = str(body["userPrincipalName"])
    _check_upn(req, upn)
    user_id = str(uuid.uuid4())
    salt = uuid.uuid4().hex
    user = new_user(
        user_id,
        upn,
        display_name=str(body["displayName"]),
        mail_nickname=str(body["mailNickname"]),
        password_hash=_password_hash(body["passwordProfile"], salt),
        created=now_iso(),
    )
    _apply(user, body)
    user["passwordProfile"] = _profile(body["passwordProfile"])
    return GraphResult(201, user_view(req, req.store.add_user(user)))


def get_user(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/user-get?view=graph-rest-1.0"""
    odata.check_options(req, USER_OPTIONS)
    return GraphResult(200, user_view(req, find_user(req, params["key"])))


def list_users(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/user-list?view=graph-rest-1.0"""
    odata.check_options(req, LIST_OPTIONS)
    selected = odata.parse_select(req, USER_PROPERTIES, "user")
    names = selected if selected is not None else list(DEFAULT_USER_PROPERTIES)
    keep = odata.parse_filter(req, USER_PROPERTIES, "user")
    matches = [u for u in req.store.users if keep(u)]
    page, next_link = odata.paginate(req, matches, "/users")
    body: JsonObject = {"@odata.context": req.context(odata.select_context("users", selected, entity=False))}
    if next_link:
        body["@odata.nextLink"] = next_link
    body["value"] = [odata.project(u, names, COLLECTIONS) for u in page]
    return GraphResult(200, body)


def update_user(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/user-update?view=graph-rest-1.0"""
    user = find_user(req, params["key"])
    body = json_object_body(req)
    _check_known(body)
    _check_types(body)
    new_upn = body.get("userPrincipalName")
    if new_upn is not None:
        _check_upn(req, str(new_upn), current=user)
    if "passwordProfile" in body:
        user["passwordHash"] = _password_hash(body["passwordProfile"], uuid.uuid4().hex)
        user["passwordProfile"] = _profile(body["passwordProfile"])
    _apply(user, body)
    if new_upn is not None:
        req.store.rename_user(user, str(new_upn))
    return GraphResult(204)


def delete_user(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/user-delete?view=graph-rest-1.0"""
    user = find_user(req, params["key"])
    for assigned in user.get("assignedLicenses", []):
        sku = _sku(req, assigned["skuId"])
        if sku is not None:
            sku["consumedUnits"] = max(0, sku["consumedUnits"] - 1)
    req.store.remove_user(user)
    return GraphResult(204)


# --- licences --------------------------------------------------------------------------------


def _sku(req: GraphRequest, sku_id: Any) -> JsonObject | None:
    wanted = str(sku_id).lower()
    return next((s for s in req.store.skus if s["skuId"].lower() == wanted), None)


def _company_sku(req: GraphRequest, sku_id: Any) -> JsonObject:
    sku = _sku(req, sku_id)
    if sku is None:
        raise _bad(f"License {sku_id} does not correspond to a valid company License.")
    return sku


def _license_params(body: JsonObject) -> tuple[list[JsonObject], list[str]]:
    missing = [p for p in ("addLicenses", "removeLicenses") if p not in body]
    if missing:
        raise _bad(
            "One or more parameters of the operation 'assignLicense' are missing from the request "
            f"payload. The missing parameters are: {', '.join(missing)}.",
            code="BadRequest",
        )
    add, remove = body["addLicenses"] or [], body["removeLicenses"] or []
    if not isinstance(add, list) or not all(isinstance(a, dict) and a.get("skuId") for a in add):
        raise _bad("Invalid value specified for property 'addLicenses'.", code="BadRequest")
    if not isinstance(remove, list):
        raise _bad("Invalid value specified for property 'removeLicenses'.", code="BadRequest")
    return add, [str(r) for r in remove]


def _check_assignment(req: GraphRequest, user: JsonObject, add: list[JsonObject], remove: list[str]) -> None:
    held = {a["skuId"].lower() for a in user.get("assignedLicenses", [])}
    for item in add:
        _company_sku(req, item["skuId"])
    for sku_id in remove:
        _company_sku(req, sku_id)
        if sku_id.lower() not in held:
            raise _bad("User does not have a corresponding license.")
    if add and not user.get("usageLocation"):
        raise _bad("License assignment cannot be done for user with invalid usage location.")
    for item in add:
        sku = _company_sku(req, item["skuId"])
        if str(item["skuId"]).lower() not in held and sku["consumedUnits"] >= sku["prepaidUnits"]["enabled"]:
            raise _bad(f"Subscription with SKU {sku['skuId']} does not have any available licenses.")


def _apply_assignment(req: GraphRequest, user: JsonObject, add: list[JsonObject], remove: list[str]) -> None:
    assigned: list[JsonObject] = user.setdefault("assignedLicenses", [])
    for sku_id in remove:
        sku = _company_sku(req, sku_id)
        assigned[:] = [a for a in assigned if a["skuId"].lower() != sku["skuId"].lower()]
        sku["consumedUnits"] = max(0, sku["consumedUnits"] - 1)
    for item in add:
        sku = _company_sku(req, item["skuId"])
        disabled = [str(p) for p in item.get("disabledPlans") or []]
        existing = next((a for a in assigned if a["skuId"].lower() == sku["skuId"].lower()), None)
        if existing is None:
            assigned.append({"disabledPlans": disabled, "skuId": sku["skuId"]})
            sku["consumedUnits"] += 1
        else:
            existing["disabledPlans"] = disabled
        if user.get("mail") is None and _has_exchange(sku, disabled):
            user["mail"] = user["userPrincipalName"]  # a mailbox is provisioned with the licence


def _has_exchange(sku: JsonObject, disabled: list[str]) -> bool:
    return any(
        p["servicePlanName"].startswith("EXCHANGE_S_")
        and p["servicePlanName"] != "EXCHANGE_S_FOUNDATION"
        and p["servicePlanId"] not in disabled
        for p in sku["servicePlans"]
    )


def assign_license(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/user-assignlicense?view=graph-rest-1.0"""
    user = find_user(req, params["key"])
    add, remove = _license_params(json_object_body(req))
    _check_assignment(req, user, add, remove)
    _apply_assignment(req, user, add, remove)
    return GraphResult(200, user_view(req, user, extra=("assignedLicenses",)))


def license_detail_id(user_id: str, sku_id: str) -> str:
    """Opaque licenseDetails id: base64url of the user and SKU GUID bytes (as the service's ids are)."""
    raw = uuid.UUID(user_id).bytes_le + uuid.UUID(sku_id).bytes_le
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _license_detail(user: JsonObject, sku: JsonObject, disabled: list[str]) -> JsonObject:
    plans = [
        {
            **plan,
            "provisioningStatus": "Disabled" if plan["servicePlanId"] in disabled else plan["provisioningStatus"],
        }
        for plan in sku["servicePlans"]
    ]
    return {
        "id": license_detail_id(user["id"], sku["skuId"]),
        "skuId": sku["skuId"],
        "skuPartNumber": sku["skuPartNumber"],
        "servicePlans": plans,
    }


def list_license_details(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/user-list-licensedetails?view=graph-rest-1.0"""
    odata.check_options(req, USER_OPTIONS)
    user = find_user(req, params["key"])
    selected = odata.parse_select(req, ("id", "servicePlans", "skuId", "skuPartNumber"), "licenseDetails")
    details = []
    for assigned in user.get("assignedLicenses", []):
        sku = _sku(req, assigned["skuId"])
        if sku is not None:
            details.append(_license_detail(user, sku, assigned.get("disabledPlans") or []))
    fragment = odata.select_context(f"users('{user['id']}')/licenseDetails", selected, entity=False)
    value = [odata.project(d, selected) for d in details] if selected is not None else details
    return GraphResult(200, {"@odata.context": req.context(fragment), "value": value})


# --- subscribedSkus --------------------------------------------------------------------------

SKU_PROPERTIES = (
    "accountId",
    "accountName",
    "appliesTo",
    "capabilityStatus",
    "consumedUnits",
    "id",
    "prepaidUnits",
    "servicePlans",
    "skuId",
    "skuPartNumber",
    "subscriptionIds",
)


def list_subscribed_skus(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/subscribedsku-list?view=graph-rest-1.0"""
    odata.check_options(req, USER_OPTIONS)
    selected = odata.parse_select(req, SKU_PROPERTIES, "subscribedSku")
    value = [odata.project(s, selected) if selected is not None else dict(s) for s in req.store.skus]
    context = req.context(odata.select_context("subscribedSkus", selected, entity=False))
    return GraphResult(200, {"@odata.context": context, "value": value})


def get_subscribed_sku(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/subscribedsku-get?view=graph-rest-1.0"""
    odata.check_options(req, USER_OPTIONS)
    sku = next((s for s in req.store.skus if s["id"].lower() == params["key"].lower()), None)
    if sku is None:
        raise GraphError(
            404,
            "Request_ResourceNotFound",
            f"Resource '{params['key']}' does not exist or one of its queried reference-property objects "
            "are not present.",
        )
    selected = odata.parse_select(req, SKU_PROPERTIES, "subscribedSku")
    body: JsonObject = {"@odata.context": req.context(odata.select_context("subscribedSkus", selected, entity=True))}
    body.update(odata.project(sku, selected) if selected is not None else sku)
    return GraphResult(200, body)


# --- organization ----------------------------------------------------------------------------

# https://learn.microsoft.com/en-us/graph/api/resources/organization: every property of the v1.0 organization
# (and directoryObject) type. What the tenant file knows (id, displayName, verified domains) is shown; the
# rest reads as unset: [] for collections, null otherwise; the two non-nullable scalars take the values the
# resource page gives as defaults (mobileDeviceManagementAuthority unknown, tenantType AAD).
ORGANIZATION_PROPERTIES = (
    "id",
    "deletedDateTime",
    "assignedPlans",
    "businessPhones",
    "city",
    "country",
    "countryLetterCode",
    "createdDateTime",
    "defaultUsageLocation",
    "displayName",
    "marketingNotificationEmails",
    "mobileDeviceManagementAuthority",
    "onPremisesLastSyncDateTime",
    "onPremisesSyncEnabled",
    "partnerTenantType",
    "postalCode",
    "preferredLanguage",
    "privacyProfile",
    "provisionedPlans",
    "securityComplianceNotificationMails",
    "securityComplianceNotificationPhones",
    "state",
    "street",
    "technicalNotificationMails",
    "tenantType",
    "verifiedDomains",
)
ORGANIZATION_COLLECTIONS = frozenset(
    {
        "assignedPlans",
        "businessPhones",
        "marketingNotificationEmails",
        "provisionedPlans",
        "securityComplianceNotificationMails",
        "securityComplianceNotificationPhones",
        "technicalNotificationMails",
        "verifiedDomains",
    }
)
ORGANIZATION_DEFAULTS: JsonObject = {"mobileDeviceManagementAuthority": "unknown", "tenantType": "AAD"}


def _verified_domains(tenant: JsonObject) -> list[JsonObject]:
    """verifiedDomain objects; the default is the first custom domain (else the initial one), as Exchange's."""
    domains = [str(d) for d in tenant.get("domains", [])]
    initial = str(tenant.get("initialDomain", ""))
    default = next((d for d in domains if not d.lower().endswith(".onmicrosoft.com")), initial)
    return [
        {
            "capabilities": "Email, OfficeCommunicationsOnline",
            "isDefault": name == default,
            "isInitial": name == initial,
            "name": name,
            "type": "Managed",
        }
        for name in domains
    ]


def _organization(req: GraphRequest, selected: list[str] | None) -> JsonObject:
    tenant = req.store.tenant
    known: JsonObject = {
        "id": tenant["id"],
        "displayName": tenant.get("displayName"),
        "verifiedDomains": _verified_domains(tenant),
    }
    names = selected if selected is not None else list(ORGANIZATION_PROPERTIES)
    empty: JsonObject = {n: ([] if n in ORGANIZATION_COLLECTIONS else ORGANIZATION_DEFAULTS.get(n)) for n in names}
    return {n: known[n] if n in known else empty[n] for n in names}


def list_organization(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/organization-list?view=graph-rest-1.0"""
    odata.check_options(req, USER_OPTIONS)
    selected = odata.parse_select(req, ORGANIZATION_PROPERTIES, "organization")
    context = req.context(odata.select_context("organization", selected, entity=False))
    return GraphResult(200, {"@odata.context": context, "value": [_organization(req, selected)]})


def get_organization(req: GraphRequest, params: Params) -> GraphResult:
    """https://learn.microsoft.com/en-us/graph/api/organization-get?view=graph-rest-1.0"""
    odata.check_options(req, USER_OPTIONS)
    if params["key"].lower() != str(req.store.tenant["id"]).lower():
        raise GraphError(
            404,
            "Request_ResourceNotFound",
            f"Resource '{params['key']}' does not exist or one of its queried reference-property objects "
            "are not present.",
        )
    selected = odata.parse_select(req, ORGANIZATION_PROPERTIES, "organization")
    body: JsonObject = {"@odata.context": req.context(odata.select_context("organization", selected, entity=True))}
    body.update(_organization(req, selected))
    return GraphResult(200, body)
