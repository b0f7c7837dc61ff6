"""RBAC and app-access cmdlets: management scopes, role assignments, role groups, service principals,
application access policies, organization EWS settings and the Test-* cmdlets.

RBAC for Applications: https://learn.microsoft.com/en-us/exchange/permissions-exo/application-rbac
Where a cmdlet page states a rule without the words Exchange prints for it, the error text here is the
simulator's own, quoting the page (marked "the page's rule").
"""

from __future__ import annotations

import re
from typing import Any

from reconciler.simulator import exchange_model as xm
from reconciler.simulator import exchange_views as xv
from reconciler.simulator.exchange_binding import to_bool
from reconciler.simulator.exchange_cmdlets import Ctx, Params, choice, directory, resolve, stamp
from reconciler.simulator.exchange_errors import (
    RECIPIENT_TASK_TYPE,
    TASK_ARGUMENT_TYPE,
    CmdletError,
    already_exists,
    bad_value,
    missing_parameter,
    not_found,
    parameter_set_conflict,
)

JsonObject = dict[str, Any]
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
# Built-in management roles an assignment may name (those reconciler's permissions report names, and their kin),
# from "Built-in management roles": https://learn.microsoft.com/exchange/built-in-management-roles-exchange-2013-help
ADMIN_ROLES = (
    "Distribution Groups",
    "Mail Recipient Creation",
    "Mail Recipients",
    "Organization Configuration",
    "Role Management",
    "Security Group Creation and Membership",
    "View-Only Configuration",
    "View-Only Recipients",
)
# RecipientWriteScopeType (the 2013 syntax block of Get-ManagementRoleAssignment lists every value)
WRITE_SCOPE_TYPES = (
    "None",
    "NotApplicable",
    "Organization",
    "MyGAL",
    "Self",
    "MyDirectReports",
    "OU",
    "CustomRecipientScope",
    "MyDistributionGroups",
    "MyExecutive",
    "ExclusiveRecipientScope",
    "MailboxICanDelegate",
)
# Set-/New-ManagementRoleAssignment -RecipientRelativeWriteScope: "The available types are None, Organization,
# MyGAL, Self and MyDistributionGroups"; the others "can't be used directly on the command line".
RELATIVE_SCOPES = ("None", "Organization", "MyGAL", "Self", "MyDistributionGroups")
ASSIGNEE_TYPES = (
    "User",
    "SecurityGroup",
    "RoleAssignmentPolicy",
    "ForeignSecurityPrincipal",
    "RoleGroup",
    "LinkedRoleGroup",
    "Computer",
    "ServicePrincipal",
)
ASSIGNMENT_METHODS = ("Direct", "SecurityGroup", "RoleGroup", "RoleAssignmentPolicy")
CONFIG_SCOPE_TYPES = ("None", "OrganizationConfig", "CustomConfigScope", "ExclusiveConfigScope")
ORGANIZATION_SCOPE = "Organization"


def _section(ctx: Ctx, key: str) -> list[JsonObject]:
    items: list[JsonObject] = xm.exchange(ctx.data)[key]
    return items


def _find(items: list[JsonObject], identity: str, keys: tuple[str, ...]) -> JsonObject | None:
    lowered = identity.lower()
    return next((i for i in items if any(str(i.get(k, "")).lower() == lowered for k in keys)), None)


def _config_dn(ctx: Ctx, name: str, container: str) -> str:
    return f"CN={name},CN={container},CN=RBAC,CN={ctx.tenant_domain if ctx.online else 'Contoso'}"


# --- management scopes -----------------------------------------------------------------------

SCOPE_VIEW = ("Guid", "Identity", "Name", "RecipientFilter", "ScopeRestrictionType", "Exclusive", "RecipientRoot")


def _scope(ctx: Ctx, identity: str) -> JsonObject:
    scope = xm.find_scope(ctx.data, identity)
    if scope is None:
        raise not_found(identity, ctx.server)
    return scope


def _scope_view(ctx: Ctx, scope: JsonObject) -> JsonObject:
    view = {k: scope.get(k) for k in SCOPE_VIEW}
    tail = directory(ctx, {**scope, "DistinguishedName": _config_dn(ctx, str(scope["Name"]), "Scopes")})
    return {**view, **{k: tail[k] for k in xv.CONFIGURATION}}


def _checked_filter(ctx: Ctx, text: str) -> str:
    try:
        xm.compile_filter(ctx.data, text)
    except xm.FilterError as exc:
        raise bad_value("RecipientRestrictionFilter", str(exc)) from exc
    return xm.normalize_filter(text)


def get_management_scope(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/get-managementscope
    identity = params.text("Identity")
    scopes = [_scope(ctx, identity)] if identity else list(_section(ctx, "managementScopes"))
    if params.has("Exclusive"):
        wanted = params.flag("Exclusive")
        scopes = [s for s in scopes if bool(s.get("Exclusive")) is wanted]
    if params.flag("Orphan"):  # "scopes that aren't associated with role assignments"
        used = {name.lower() for a in _section(ctx, "roleAssignments") for name in _scopes_of(a)}
        scopes = [s for s in scopes if str(s["Name"]).lower() not in used]
    return [_scope_view(ctx, s) for s in scopes]


def new_management_scope(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/new-managementscope
    name = params.required("Name")
    if xm.find_scope(ctx.data, name) is not None:
        raise already_exists(_config_dn(ctx, name, "Scopes"), ctx.server)
    scope = {
        "Guid": xm.new_guid(ctx.data, name),
        "Identity": name,
        "Name": name,
        "RecipientFilter": _checked_filter(ctx, params.required("RecipientRestrictionFilter")),
        "ScopeRestrictionType": "RecipientScope",
        "Exclusive": params.flag("Exclusive"),
        "RecipientRoot": None,
    }
    stamp(scope, created=True)
    _section(ctx, "managementScopes").append(scope)
    return [_scope_view(ctx, scope)]


def set_management_scope(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/set-managementscope
    scope = _scope(ctx, params.required("Identity"))
    text = params.text("RecipientRestrictionFilter")
    if text:
        scope["RecipientFilter"] = _checked_filter(ctx, text)
    name = params.text("Name")
    if name and name != scope["Name"]:
        if xm.find_scope(ctx.data, name) is not None:
            raise already_exists(_config_dn(ctx, name, "Scopes"), ctx.server)
        _rename_scope(ctx, scope, name)
    stamp(scope)
    return []


def _rename_scope(ctx: Ctx, scope: JsonObject, name: str) -> None:
    for assignment in _section(ctx, "roleAssignments"):
        for key in ("CustomResourceScope", "CustomRecipientWriteScope"):
            if assignment.get(key) == scope["Name"]:
                assignment[key] = name
    scope.update(Name=name, Identity=name)


def remove_management_scope(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/remove-managementscope
    scope = _scope(ctx, params.required("Identity"))
    users = [a["Name"] for a in _section(ctx, "roleAssignments") if scope["Name"] in _scopes_of(a)]
    if users:
        text = f'The management scope "{scope["Name"]}" is used by role assignments ({", ".join(users)}).'
        raise CmdletError(TASK_ARGUMENT_TYPE, text)
    _section(ctx, "managementScopes").remove(scope)
    return []


def _scopes_of(assignment: JsonObject) -> set[str]:
    return {str(assignment.get(k)) for k in ("CustomResourceScope", "CustomRecipientWriteScope") if assignment.get(k)}


# --- role assignments ------------------------------------------------------------------------


def _role_name(ctx: Ctx, role: str) -> str:
    """The canonical role name; unknown roles (and ApplicationImpersonation online) are not found."""
    known = [*ADMIN_ROLES, xm.IMPERSONATION_ROLE] if not ctx.online else [*ADMIN_ROLES, *xm.APP_ROLE_PERMISSIONS]
    match = next((k for k in known if k.lower() == role.lower()), None)
    if match is None:
        # Exchange Online removed ApplicationImpersonation in February 2025: the role object no longer exists.
        raise not_found(role, ctx.server)
    return match


def _assignment(ctx: Ctx, identity: str) -> JsonObject:
    found = _find(_section(ctx, "roleAssignments"), identity, ("Name", "Identity", "Guid"))
    if found is None:
        raise not_found(identity, ctx.server)
    return found


def assignment_view(
    ctx: Ctx,
    assignment: JsonObject,
    method: str = "Direct",
    effective: str | None = None,
    chain: list[str] | None = None,
) -> JsonObject:
    """The assignment as Get-ManagementRoleAssignment writes it (exchange_views.ROLE_ASSIGNMENT)."""
    kind = assignment.get("RoleAssigneeType")
    dn = _config_dn(ctx, str(assignment["Name"]), "Role Assignments")
    known: JsonObject = {
        **directory(ctx, {**assignment, "DistinguishedName": dn}, classes=["top", "msExchRoleAssignment"]),
        **{k: assignment.get(k) for k in xv.ROLE_ASSIGNMENT if k in assignment},
        "User": assignment.get("RoleAssignee") if kind == "User" else None,
        "App": assignment.get("RoleAssignee") if kind == "ServicePrincipal" else None,
        "AssignmentMethod": method,
        "EffectiveUserName": effective
        if effective is not None
        else ("All Group Members" if kind in ("RoleGroup", "SecurityGroup") else assignment.get("RoleAssigneeName")),
        "AssignmentChain": chain or [],
        "RoleAssignmentDelegationType": assignment.get("RoleAssignmentDelegationType") or "Regular",
        "RecipientReadScope": ORGANIZATION_SCOPE,
        "ConfigReadScope": "OrganizationConfig",
        "ConfigWriteScope": "OrganizationConfig",
        "CustomConfigWriteScope": None,
    }
    return xv.shape(xv.ROLE_ASSIGNMENT, known)


def _assignee_identities(ctx: Ctx, identity: str) -> tuple[set[str], JsonObject | None]:
    """The names a -RoleAssignee value stands for (a service principal, role group, group or user), and the
    recipient when it is one; ManagementObjectNotFoundException when it names nothing."""
    sp = xm.find_service_principal(ctx.data, identity)
    if sp is not None:
        return {str(sp.get(k, "")).lower() for k in ("ObjectId", "AppId", "DisplayName", "Identity")} - {""}, None
    group = _find(_section(ctx, "roleGroups"), identity, ("Name", "Identity", "Guid", "DisplayName"))
    if group is not None:
        return {str(group["Name"]).lower()}, None
    recipient = xm.find_recipient(ctx.data, identity)
    if recipient is None:
        raise not_found(identity, ctx.server)
    keys = ("Identity", "Name", "Alias", "PrimarySmtpAddress", "Guid", "ExternalDirectoryObjectId")
    return {str(recipient.get(k, "")).lower() for k in keys} - {"", "none"}, recipient


def _indirect(ctx: Ctx, recipient: JsonObject) -> list[tuple[JsonObject, str, str]]:
    """(assignment, AssignmentMethod, group) for the role groups and security groups the recipient is in."""
    guid = str(recipient.get("Guid", "")).lower()
    rows: list[tuple[JsonObject, str, str]] = []
    groups = {str(g["Name"]).lower(): g for g in _section(ctx, "roleGroups") if guid in xm.member_guids(g)}
    for assignment in _section(ctx, "roleAssignments"):
        assignee = str(assignment.get("RoleAssignee", "")).lower()
        if assignment.get("RoleAssigneeType") == "RoleGroup" and assignee in groups:
            rows.append((assignment, "RoleGroup", str(groups[assignee]["Name"])))
        elif assignment.get("RoleAssigneeType") == "SecurityGroup":
            group = xm.find_exchange_recipient(ctx.data, assignee)
            if group is not None and xm.is_member(group, recipient):
                rows.append((assignment, "SecurityGroup", str(group["Name"])))
    return rows


def _group_members(ctx: Ctx, assignment: JsonObject) -> list[JsonObject]:
    assignee = str(assignment.get("RoleAssignee", ""))
    if assignment.get("RoleAssigneeType") == "RoleGroup":
        group = _find(_section(ctx, "roleGroups"), assignee, ("Name",))
    else:
        group = xm.find_exchange_recipient(ctx.data, assignee)
    return xm.group_members(ctx.data, group) if group is not None else []


Row = tuple[JsonObject, str, str | None, list[str] | None]


def get_role_assignment(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/get-managementroleassignment
    identity = params.text("Identity")
    rows: list[Row]
    if identity:
        rows = [(_assignment(ctx, identity), "Direct", None, None)]
    elif params.text("RoleAssignee"):
        rows = _by_assignee(ctx, params, params.required("RoleAssignee"))
    else:
        if params.has("AssignmentMethod"):  # "You must specify a value with the RoleAssignee parameter ..."
            raise missing_parameter(params.cmdlet, "RoleAssignee")
        rows = [(a, "Direct", None, None) for a in _section(ctx, "roleAssignments")]
    rows = [row for row in rows if _matches(ctx, params, row[0])]
    if params.flag("GetEffectiveUsers"):
        rows = _effective(ctx, rows)
    return [assignment_view(ctx, a, method, effective, chain) for a, method, effective, chain in rows]


def _by_assignee(ctx: Ctx, params: Params, identity: str) -> list[Row]:
    """Direct assignments to the assignee, and (for a user) those it has through role groups and security groups:
    "By default, the command returns both direct role assignments to the role assignee and indirect role
    assignments granted to a role assignee through role groups or assignment policies." """
    names, recipient = _assignee_identities(ctx, identity)
    rows: list[Row] = [
        (a, "Direct", None, None)
        for a in _section(ctx, "roleAssignments")
        if str(a.get("RoleAssignee", "")).lower() in names or str(a.get("RoleAssigneeName", "")).lower() in names
    ]
    if recipient is not None:
        name = str(recipient.get("Name"))
        rows += [(a, method, name, [group]) for a, method, group in _indirect(ctx, recipient)]
    methods = {m.lower() for m in params.items("AssignmentMethod") or []}
    for method in methods:
        choice(Params(params.cmdlet, {"AssignmentMethod": method}), "AssignmentMethod", ASSIGNMENT_METHODS)
    return [row for row in rows if not methods or row[1].lower() in methods]


def _matches(ctx: Ctx, params: Params, assignment: JsonObject) -> bool:
    """The filters of Get-ManagementRoleAssignment's page, each "returns only the role assignments ..." """
    role = params.text("Role")
    if role and str(assignment.get("Role")).lower() != _role_name(ctx, role).lower():
        return False
    write_scope = str(assignment.get("RecipientWriteScope"))
    enabled = assignment.get("Enabled") is not False
    checks: list[tuple[str, Any]] = [
        ("Enabled", lambda value: enabled is value),
        ("Exclusive", lambda value: (write_scope == "ExclusiveRecipientScope") is value),
        ("Delegating", lambda value: (assignment.get("RoleAssignmentDelegationType", "Regular") != "Regular") is value),
    ]
    for name, test in checks:
        if params.has(name) and params.values[name.lower()] is not None and not test(params.flag(name)):
            return False
    wanted = choice(params, "RecipientWriteScope", WRITE_SCOPE_TYPES)
    if wanted is not None and write_scope != wanted:
        return False
    kind = choice(params, "RoleAssigneeType", ASSIGNEE_TYPES)
    if kind is not None and assignment.get("RoleAssigneeType") != kind:
        return False
    config = choice(params, "ConfigWriteScope", CONFIG_SCOPE_TYPES)
    if config is not None and config != "OrganizationConfig":
        return False
    return _scope_filters(ctx, params, assignment, write_scope)


def _scope_filters(ctx: Ctx, params: Params, assignment: JsonObject, write_scope: str) -> bool:
    for name, kind in (("CustomRecipientWriteScope", "CustomRecipientScope"), ("ExclusiveRecipientWriteScope", None)):
        value = params.text(name)
        if value:
            scope = str(_scope(ctx, value)["Name"])
            expected = kind or "ExclusiveRecipientScope"
            if write_scope != expected or assignment.get("CustomRecipientWriteScope") != scope:
                return False
    for name in ("CustomConfigWriteScope", "ExclusiveConfigWriteScope"):
        value = params.text(name)
        if value:
            _scope(ctx, value)  # no configuration scope exists here: any name is not found, or not on an assignment
            return False
    group = params.text("RecipientGroupScope")
    if group:
        resolve(ctx, group, xm.GROUP_TYPES)
        return False  # no assignment here is scoped to a group (New-/Set- don't emulate -RecipientGroupScope)
    recipient = params.text("WritableRecipient")
    if recipient:
        return can_write(ctx.data, assignment, resolve(ctx, recipient))
    return True


def can_write(data: JsonObject, assignment: JsonObject, recipient: JsonObject) -> bool:
    """Whether the assignment's recipient write scope includes the recipient."""
    write_scope = assignment.get("RecipientWriteScope")
    if write_scope in (ORGANIZATION_SCOPE, "MyGAL"):
        return True
    if write_scope in ("CustomRecipientScope", "ExclusiveRecipientScope"):
        return xm.assignment_in_scope(data, assignment, recipient)
    if write_scope == "Self":
        return str(assignment.get("RoleAssignee", "")).lower() in {
            str(recipient.get(k, "")).lower() for k in ("Identity", "Name", "Alias", "PrimarySmtpAddress")
        }
    return False


def _effective(ctx: Ctx, rows: list[Row]) -> list[Row]:
    """GetEffectiveUsers: one row per user a group assignment reaches, with the group in AssignmentChain."""
    result: list[Row] = []
    for assignment, method, effective, chain in rows:
        if assignment.get("RoleAssigneeType") in ("RoleGroup", "SecurityGroup") and effective is None:
            group = str(assignment.get("RoleAssignee"))
            members = _group_members(ctx, assignment)
            result += [(assignment, method, str(m.get("Name")), [group]) for m in members]
        else:
            result.append((assignment, method, effective, chain))
    return result


def new_role_assignment(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/new-managementroleassignment
    role = _role_name(ctx, params.required("Role"))
    if params.has("App"):
        assignment = _app_assignment(ctx, params, role)
    elif params.has("SecurityGroup"):
        assignment = _group_assignment(ctx, params, role)
    else:
        assignment = _user_assignment(ctx, params, role)
    name = params.text("Name") or f"{role}-{assignment['RoleAssigneeName']}"[:64]  # "a name is created automatically"
    if len(name) > 64:
        reason = (
            "The length of the property is too long. The maximum length is 64 and the length of the value provided "
            f"is {len(name)}."
        )
        raise bad_value("Name", reason)
    if _find(_section(ctx, "roleAssignments"), name, ("Name",)) is not None:
        raise already_exists(_config_dn(ctx, name, "Role Assignments"), ctx.server)
    assignment.update(
        Guid=xm.new_guid(ctx.data, name),
        Identity=name,
        Name=name,
        Role=role,
        Enabled=True,
        RoleAssignmentDelegationType="Regular",
    )
    stamp(assignment, created=True)
    _section(ctx, "roleAssignments").append(assignment)
    return [assignment_view(ctx, assignment)]


def _recipient_scope(ctx: Ctx, params: Params) -> tuple[str | None, str]:
    """(CustomRecipientWriteScope, RecipientWriteScope) from the user/group assignment scope parameters."""
    custom, exclusive = params.text("CustomRecipientWriteScope"), params.text("ExclusiveRecipientWriteScope")
    if custom and exclusive:  # "you can't use the CustomRecipientWriteScope ... or ExclusiveRecipientWriteScope"
        raise parameter_set_conflict()
    relative = choice(params, "RecipientRelativeWriteScope", WRITE_SCOPE_TYPES)
    if relative is not None and (custom or exclusive):
        raise parameter_set_conflict()
    if custom:
        return _scope_for(ctx, custom, exclusive=False), "CustomRecipientScope"
    if exclusive:
        return _scope_for(ctx, exclusive, exclusive=True), "ExclusiveRecipientScope"
    if relative is not None:
        return None, _relative(relative)
    return None, ORGANIZATION_SCOPE


def _relative(value: str) -> str:
    if value not in RELATIVE_SCOPES:  # the page's rule
        text = (
            f"The value '{value}' can't be used for RecipientRelativeWriteScope: the available types are "
            f"{', '.join(RELATIVE_SCOPES)}; the others are used internally by the cmdlet."
        )
        raise CmdletError(TASK_ARGUMENT_TYPE, text)
    return value


def _scope_for(ctx: Ctx, identity: str, *, exclusive: bool) -> str:
    """A recipient scope's name, refused when its exclusivity doesn't match the parameter (the page's rule)."""
    scope = _scope(ctx, identity)
    if bool(scope.get("Exclusive")) != exclusive:
        parameter = "ExclusiveRecipientWriteScope" if exclusive else "CustomRecipientWriteScope"
        kind = "a regular" if exclusive else "an exclusive"
        text = (
            f'The management scope "{scope["Name"]}" is {kind} scope and can\'t be used with the {parameter} '
            "parameter: regular scopes go in CustomRecipientWriteScope, exclusive scopes in "
            "ExclusiveRecipientWriteScope."
        )
        raise CmdletError(TASK_ARGUMENT_TYPE, text)
    return str(scope["Name"])


def _app_scope(ctx: Ctx, params: Params) -> str | None:
    value = params.text("CustomResourceScope")
    return str(_scope(ctx, value)["Name"]) if value else None


def _app_assignment(ctx: Ctx, params: Params, role: str) -> JsonObject:
    # "If you use the App parameter, you can't specify user roles; you can only specify application or management
    # roles": the simulator knows no user (My*) roles, so every role it knows may go to an app.
    del role
    identity = params.required("App")
    sp = xm.find_service_principal(ctx.data, identity)
    if sp is None:  # not registered with New-ServicePrincipal
        raise not_found(identity, ctx.server)
    scope = _app_scope(ctx, params)
    return {
        "RoleAssignee": sp["ObjectId"],
        "RoleAssigneeName": sp["DisplayName"],
        "RoleAssigneeType": "ServicePrincipal",
        "CustomRecipientWriteScope": None,
        "CustomResourceScope": scope,
        "RecipientWriteScope": "CustomRecipientScope" if scope else ORGANIZATION_SCOPE,
    }


def _not_app_role(role: str) -> None:
    if role in xm.APP_ROLE_PERMISSIONS:  # the simulator's wording: application roles go to service principals
        text = f"The application role '{role}' can only be assigned to a service principal (-App)."
        raise CmdletError(TASK_ARGUMENT_TYPE, text)


def _user_assignment(ctx: Ctx, params: Params, role: str) -> JsonObject:
    _not_app_role(role)
    user = resolve(ctx, params.required("User"), xm.MAILBOX_TYPES | frozenset({"User"}))
    scope, write_scope = _recipient_scope(ctx, params)
    return {
        "RoleAssignee": user["Identity"],
        "RoleAssigneeName": user["Name"],
        "RoleAssigneeType": "User",
        "CustomRecipientWriteScope": scope,
        "CustomResourceScope": None,
        "RecipientWriteScope": write_scope,
    }


def _group_assignment(ctx: Ctx, params: Params, role: str) -> JsonObject:
    """-SecurityGroup: "the management role group or mail-enabled universal security group"."""
    _not_app_role(role)
    identity = params.required("SecurityGroup")
    group = _find(_section(ctx, "roleGroups"), identity, ("Name", "Identity", "Guid", "DisplayName"))
    if group is not None:
        name, kind = str(group["Name"]), "RoleGroup"
    else:
        name, kind = str(resolve(ctx, identity, frozenset({"MailUniversalSecurityGroup"}))["Name"]), "SecurityGroup"
    scope, write_scope = _recipient_scope(ctx, params)
    return {
        "RoleAssignee": name,
        "RoleAssigneeName": name,
        "RoleAssigneeType": kind,
        "CustomRecipientWriteScope": scope,
        "CustomResourceScope": None,
        "RecipientWriteScope": write_scope,
    }


def set_role_assignment(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/set-managementroleassignment
    assignment = _assignment(ctx, params.required("Identity"))
    app = assignment.get("RoleAssigneeType") == "ServicePrincipal"
    if params.has("Enabled"):
        enabled = params.values["enabled"]
        if enabled is None:
            raise bad_value(
                "Enabled",
                'Cannot convert value "" to type "System.Boolean". Boolean parameters accept '
                "only Boolean values and numbers, such as $True, $False, 1 or 0.",
            )
        assignment["Enabled"] = bool(enabled)
    recipient_parameters = [
        n
        for n in ("CustomRecipientWriteScope", "ExclusiveRecipientWriteScope", "RecipientRelativeWriteScope")
        if params.has(n)
    ]
    if params.has("CustomResourceScope"):
        if not app:  # "You use this parameter with the App parameter to assign permissions to service principals."
            raise _wrong_kind(assignment, "CustomResourceScope", "only to an assignment of a service principal (App)")
        scope = _app_scope(ctx, params)
        write_scope = "CustomRecipientScope" if scope else ORGANIZATION_SCOPE
        assignment.update(CustomResourceScope=scope, RecipientWriteScope=write_scope)
    elif recipient_parameters:
        if app:  # the App parameter set of the page has CustomResourceScope as its only scope
            raise _wrong_kind(assignment, recipient_parameters[0], "not to an assignment of a service principal (App)")
        _set_recipient_scope(ctx, params, assignment)
    stamp(assignment)
    return []


def _wrong_kind(assignment: JsonObject, parameter: str, rule: str) -> CmdletError:
    text = (
        f'The {parameter} parameter applies {rule}; the role assignment "{assignment["Name"]}" is assigned to '
        f'{assignment.get("RoleAssigneeType")} "{assignment.get("RoleAssigneeName")}".'
    )
    return CmdletError(TASK_ARGUMENT_TYPE, text)


def _set_recipient_scope(ctx: Ctx, params: Params, assignment: JsonObject) -> None:
    """A new recipient scope overwrites the old one; ``$null`` removes it ("To remove a scope, specify a value of
    $null"), leaving the role's implicit write scope (the organization)."""
    for parameter, kind, exclusive in (
        ("CustomRecipientWriteScope", "CustomRecipientScope", False),
        ("ExclusiveRecipientWriteScope", "ExclusiveRecipientScope", True),
    ):
        if params.has(parameter):
            value = params.text(parameter)
            if value:
                scope = _scope_for(ctx, value, exclusive=exclusive)
                assignment.update(CustomRecipientWriteScope=scope, RecipientWriteScope=kind)
            elif assignment.get("RecipientWriteScope") == kind:
                assignment.update(CustomRecipientWriteScope=None, RecipientWriteScope=ORGANIZATION_SCOPE)
            return
    relative = choice(params, "RecipientRelativeWriteScope", WRITE_SCOPE_TYPES)
    if relative is not None:
        assignment.update(CustomRecipientWriteScope=None, RecipientWriteScope=_relative(relative))


def remove_role_assignment(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/remove-managementroleassignment
    found = _assignment(ctx, params.required("Identity"))
    _section(ctx, "roleAssignments").remove(found)
    for group in _section(ctx, "roleGroups"):
        if found["Name"] in group.get("RoleAssignments", []):
            group["RoleAssignments"].remove(found["Name"])
            if found["Role"] in group.get("Roles", []) and not any(
                a.get("RoleAssignee") == group["Name"] and a["Role"] == found["Role"]
                for a in _section(ctx, "roleAssignments")
            ):
                group["Roles"].remove(found["Role"])
    return []


# --- role groups -----------------------------------------------------------------------------


def role_group_view(ctx: Ctx, group: JsonObject) -> JsonObject:
    members = [str(m.get("Name")) for m in xm.group_members(ctx.data, group)]
    known = {
        **directory(ctx, group, classes=["top", "group"]),
        **{k: group.get(k) for k in ("ManagedBy", "RoleAssignments", "Roles", "DisplayName", "Description")},
        "Members": members,
        "RoleGroupType": "Standard",
        "Description": [group["Description"]] if group.get("Description") else [],
    }
    return xv.shape(xv.ROLE_GROUP, known)


def new_role_group(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/new-rolegroup
    name = params.required("Name")
    groups = _section(ctx, "roleGroups")
    dn = f"CN={name},OU=Microsoft Exchange Security Groups,DC=contoso,DC=com"
    if _find(groups, name, ("Name",)) is not None or xm.find_exchange_recipient(ctx.data, name) is not None:
        raise already_exists(dn, ctx.server)
    roles = [_role_name(ctx, r) for r in params.items("Roles") or []]
    for role in roles:
        _not_app_role(role)
    members = [
        str(resolve(ctx, m, xm.MAILBOX_TYPES | xm.GROUP_TYPES | frozenset({"User"}))["Guid"])
        for m in params.items("Members") or []
    ]
    owners = [str(resolve(ctx, m)["Name"]) for m in params.items("ManagedBy") or []]
    scope = params.text("CustomRecipientWriteScope")
    scope_name = _scope_for(ctx, scope, exclusive=False) if scope else None
    group: JsonObject = {
        "Guid": xm.new_guid(ctx.data, name),
        "Identity": name,
        "Name": name,
        "DisplayName": params.text("DisplayName") or name,
        "Description": params.text("Description"),
        "DistinguishedName": dn,
        "ManagedBy": owners,
        "Members": members,
        "Roles": roles,
        "RoleAssignments": [],
    }
    stamp(group, created=True)
    for role in roles:  # the page's example 6 names them "<role>-<role group>"
        assignment_name = f"{role}-{name}"[:64]
        assignment = {
            "Guid": xm.new_guid(ctx.data, assignment_name),
            "Identity": assignment_name,
            "Name": assignment_name,
            "Role": role,
            "RoleAssignee": name,
            "RoleAssigneeName": name,
            "RoleAssigneeType": "RoleGroup",
            "CustomRecipientWriteScope": scope_name,
            "CustomResourceScope": None,
            "RecipientWriteScope": "CustomRecipientScope" if scope_name else ORGANIZATION_SCOPE,
            "Enabled": True,
            "RoleAssignmentDelegationType": "Regular",
        }
        stamp(assignment, created=True)
        _section(ctx, "roleAssignments").append(assignment)
        group["RoleAssignments"].append(assignment_name)
    groups.append(group)
    return [role_group_view(ctx, group)]


# --- service principals ----------------------------------------------------------------------

SP_VIEW = ("AppId", "ObjectId", "DisplayName", "Identity")


def _sp(ctx: Ctx, identity: str) -> JsonObject:
    sp = xm.find_service_principal(ctx.data, identity)
    if sp is None:
        raise not_found(identity, ctx.server)
    return sp


def get_service_principal(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/get-serviceprincipal
    identity = params.text("Identity")
    items = [_sp(ctx, identity)] if identity else _section(ctx, "servicePrincipals")
    return [{k: sp.get(k) for k in SP_VIEW} for sp in items]


def _guid(params: Params, name: str) -> str:
    value = params.required(name)
    if not _GUID.match(value):
        raise bad_value(name, f'Cannot convert value "{value}" to type "System.Guid".')
    return value.lower()


def new_service_principal(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/new-serviceprincipal
    app_id = _guid(params, "AppId")
    object_id = _guid(params, "ObjectId" if params.has("ObjectId") or not params.has("ServiceId") else "ServiceId")
    if xm.find_service_principal(ctx.data, app_id) or xm.find_service_principal(ctx.data, object_id):
        raise already_exists(f"CN={object_id},CN=ServicePrincipals", ctx.server)
    display = params.text("DisplayName") or app_id
    sp = {"AppId": app_id, "ObjectId": object_id, "DisplayName": display, "Identity": object_id}
    _section(ctx, "servicePrincipals").append(sp)
    return [dict(sp)]


def set_service_principal(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/set-serviceprincipal
    sp = _sp(ctx, params.required("Identity"))
    display = params.text("DisplayName")
    if display:
        sp["DisplayName"] = display
        for assignment in xm.app_assignments(ctx.data, str(sp["AppId"]), enabled_only=False):
            assignment["RoleAssigneeName"] = display
    return []


def remove_service_principal(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/remove-serviceprincipal
    # Neither that page nor the RBAC for Applications page ("Remove Service Principal") says what becomes of the
    # principal's role assignments: they stay, holding its ObjectId (Get-ManagementRoleAssignment -Identity still
    # shows them; -RoleAssignee cannot name a removed principal), and grant nothing (app_assignments needs a live
    # pointer) until New-ServicePrincipal registers that ObjectId again.
    sp = _sp(ctx, params.required("Identity"))
    _section(ctx, "servicePrincipals").remove(sp)
    return []


# --- application access policies -------------------------------------------------------------

POLICY_VIEW = ("Identity", "AppId", "ScopeName", "ScopeIdentity", "AccessRight", "Description")


def _policy(ctx: Ctx, identity: str) -> JsonObject:
    found = _find(_section(ctx, "applicationAccessPolicies"), identity, ("Identity",))
    if found is None:
        raise not_found(identity, ctx.server)
    return found


def get_access_policy(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/get-applicationaccesspolicy
    identity = params.text("Identity")
    items = [_policy(ctx, identity)] if identity else _section(ctx, "applicationAccessPolicies")
    return [{k: p.get(k) for k in POLICY_VIEW} for p in items]


def new_access_policy(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/new-applicationaccesspolicy
    right = params.required("AccessRight")
    if right.lower() not in ("restrictaccess", "denyaccess"):
        raise bad_value("AccessRight", f"'{right}' isn't a valid ApplicationAccessPolicyRight value.")
    group = resolve(ctx, params.required("PolicyScopeGroupId"))
    if group.get("RecipientTypeDetails") != "MailUniversalSecurityGroup":
        text = f"The group '{group['Name']}' isn't a mail-enabled security group."
        raise CmdletError(RECIPIENT_TASK_TYPE, text)
    created = []
    for app_id in params.items("AppId") or []:
        policy = {
            "Identity": f"{ctx.data['tenant']['id']}\\{app_id}:{group['Guid']}",
            "AppId": app_id,
            "ScopeName": group["DisplayName"],
            "ScopeIdentity": group["Name"],
            "AccessRight": "RestrictAccess" if right.lower() == "restrictaccess" else "DenyAccess",
            "Description": params.text("Description"),
        }
        _section(ctx, "applicationAccessPolicies").append(policy)
        created.append({k: policy.get(k) for k in POLICY_VIEW})
    if not created:
        raise missing_parameter(params.cmdlet, "AppId")
    return created


def set_access_policy(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/set-applicationaccesspolicy
    policy = _policy(ctx, params.required("Identity"))
    policy["Description"] = params.text("Description")
    return []


def remove_access_policy(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/remove-applicationaccesspolicy
    policy = _policy(ctx, params.required("Identity"))
    _section(ctx, "applicationAccessPolicies").remove(policy)
    return []


def test_access_policy(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/test-applicationaccesspolicy
    mailbox = resolve(ctx, params.required("Identity"), xm.MAILBOX_TYPES)
    app_id = params.required("AppId")
    granted = xm.policy_allows(ctx.data, app_id, mailbox)
    return [
        {
            "AppId": app_id,
            "Mailbox": mailbox["Name"],
            "MailboxId": mailbox["Guid"],
            "AccessCheckResult": "Granted" if granted else "Denied",
        }
    ]


def test_sp_authorization(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/test-serviceprincipalauthorization
    sp = _sp(ctx, params.required("Identity"))
    resource = params.text("Resource")
    mailbox = resolve(ctx, resource, xm.MAILBOX_TYPES) if resource else None
    rows = []
    for assignment in xm.app_assignments(ctx.data, str(sp["AppId"])):
        scope = assignment.get("CustomResourceScope")
        in_scope = xm.assignment_in_scope(ctx.data, assignment, mailbox) if mailbox is not None else None
        rows.append(
            {
                "RoleName": assignment["Role"],
                "GrantedPermissions": str(assignment["Role"]).removeprefix("Application "),
                "AllowedResourceScope": scope or "Organization",
                "ScopeType": "CustomRecipientScope" if scope else "Organization",
                "InScope": in_scope,
            }
        )
    return rows


# --- organization config ---------------------------------------------------------------------


def get_organization_config(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/get-organizationconfig
    # -RetrieveEwsOperationAccessPolicy adds EwsAllowedAppIDs (the Set-OrganizationConfig page, EwsAllowedAppIDs)
    org = xm.exchange(ctx.data)["organization"]
    known = {
        "OrganizationId": ctx.organization_id,
        "Name": org.get("Name"),
        "Identity": org.get("Name"),
        "Guid": ctx.data["tenant"]["id"],
        **{k: org.get(k) for k in xv.ORGANIZATION if k.startswith("Ews") and k in org},
    }
    view = xv.shape(xv.ORGANIZATION, known)
    if params.flag("RetrieveEwsOperationAccessPolicy"):
        view["EwsAllowedAppIDs"] = org.get("EwsAllowedAppIDs")
    return [view]


def set_organization_config(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/set-organizationconfig
    org = xm.exchange(ctx.data)["organization"]
    if params.has("EwsEnabled"):
        org["EwsEnabled"] = to_bool(params.values["ewsenabled"], "EwsEnabled")
    if params.has("EwsAllowedAppIDs"):
        org["EwsAllowedAppIDs"] = _app_id_list(params.items("EwsAllowedAppIDs"))
    return []


def _app_id_list(ids: list[str] | None) -> str | None:
    """GUIDs, and the hybrid app's ExchangeServerApp-* entry as written (hybrid tenants must keep it: DOMAIN reference,
    Exchange Team blog "Introducing EWSAllowedAppIDs", June 2026)."""
    cleaned = [i for i in ids or [] if i.lower() not in ("$null", "null")]
    bad = [i for i in cleaned if not _GUID.match(i) and not i.lower().startswith("exchangeserverapp-")]
    if bad:
        raise bad_value("EwsAllowedAppIDs", f"'{bad[0]}' isn't a valid application ID (GUID).")
    return ",".join(i if i.lower().startswith("exchangeserverapp-") else i.lower() for i in cleaned) or None


def set_cas_mailbox(ctx: Ctx, params: Params) -> list[JsonObject]:
    # https://learn.microsoft.com/powershell/module/exchangepowershell/set-casmailbox
    # -EwsEnabled: "The value of this parameter is meaningful only if the EwsEnabled parameter on the
    # Set-OrganizationConfig parameter isn't set to the value $false" (the EWS handler applies both)
    mailbox = resolve(ctx, params.required("Identity"), xm.MAILBOX_TYPES)
    if params.has("EwsEnabled"):
        mailbox["EwsEnabled"] = to_bool(params.values["ewsenabled"], "EwsEnabled")
        stamp(mailbox)
    return []
