"""`user`: the integration's service account, an Entra ID user (guide steps 1-3).

Read:   GET /users/{userPrincipalName} (or by the id state recorded, so a renamed UPN is followed)
Create: POST /users with passwordProfile (password from the environment, never recorded)
Update: PATCH /users/{id}
Delete: DELETE /users/{id}, only when state records that reconciler created it
https://learn.microsoft.com/en-us/graph/api/resources/user
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reconciler.clients.graph import required_permission
from reconciler.errors import Location, ReconcilerError, SpecError
from reconciler.render import powershell as ps
from reconciler.resources.base import (
    APPLY,
    READ,
    Attributes,
    Backend,
    Context,
    Desired,
    Observed,
    Permission,
    Query,
    ResourceKind,
    Unsupported,
    graph_permission,
)
from reconciler.spec.loader import LoadedSpec
from reconciler.spec.models import Spec, Target

if TYPE_CHECKING:
    from reconciler.engine.plan import Change

# spec field -> Graph user property (JSON)
JSON_FIELDS = {
    "user_principal_name": "userPrincipalName",
    "display_name": "displayName",
    "given_name": "givenName",
    "surname": "surname",
    "mail_nickname": "mailNickname",
    "account_enabled": "accountEnabled",
    "usage_location": "usageLocation",
}
# spec field -> msgraph-sdk User model attribute (request bodies)
GRAPH_FIELDS = {
    "user_principal_name": "user_principal_name",
    "display_name": "display_name",
    "given_name": "given_name",
    "surname": "surname",
    "mail_nickname": "mail_nickname",
    "account_enabled": "account_enabled",
    "usage_location": "usage_location",
}


FORCE_CHANGE = "force_change_password_next_sign_in"


class UserAttrs(Attributes):
    """The service account as the spec names its fields (Graph user properties)."""

    user_principal_name: str
    display_name: str | None = None
    given_name: str | None = None
    surname: str | None = None
    mail_nickname: str | None = None
    account_enabled: bool | None = None
    usage_location: str | None = None
    # passwordProfile.forceChangePasswordNextSignIn (Graph returns passwordProfile only on $select)
    force_change_password_next_sign_in: bool | None = None


class Online(Backend[UserAttrs]):
    """Microsoft Graph /users."""

    def read(self, ctx: Context, query: Query) -> list[Observed]:
        found: dict[str, Observed] = {}
        for record in query.records:
            if record.id and (user := ctx.lookups.user(record.id)) is not None:
                found[record.address] = _observed(record.address, user)
        for desired in query.desired:
            if desired.address not in found:
                user = ctx.lookups.user(desired.attributes["user_principal_name"])
                if user is not None:
                    found[desired.address] = _observed(desired.address, user)
        return list(found.values())

    def create(self, ctx: Context, change: Change) -> Observed:
        password = _password(ctx.spec)
        after = change.after or {}
        wanted = self.parse(after).to_json()
        properties = {GRAPH_FIELDS[k]: v for k, v in wanted.items() if v is not None and k in GRAPH_FIELDS}
        user = ctx.clients.graph.create_user(properties, password, bool(wanted.get(FORCE_CHANGE)))
        ctx.lookups.forget_user(str(after.get("user_principal_name", "")))
        return Observed(change.address, user.get("id"), _record_attrs(after))

    def update(self, ctx: Context, change: Change) -> Observed:
        if change.id is None:
            raise ReconcilerError(f"{change.address}: the plan names no user id to change")
        wanted = self.parse(change.after).to_json()
        properties = {GRAPH_FIELDS[k]: wanted[k] for k in change.changed if k in GRAPH_FIELDS}
        if FORCE_CHANGE in change.changed:  # passwordProfile is updated with the password it protects
            force = bool(wanted[FORCE_CHANGE])
            ctx.clients.graph.update_user(change.id, properties, _password(ctx.spec), force)
        else:
            ctx.clients.graph.update_user(change.id, properties)
        return Observed(change.address, change.id, _record_attrs(change.after or {}))

    def delete(self, ctx: Context, change: Change) -> None:
        if change.id is None:
            raise ReconcilerError(f"{change.address}: the plan names no user id to delete")
        ctx.clients.graph.delete_user(change.id)


def _observed(address: str, user: dict[str, Any]) -> Observed:
    attributes = {name: user.get(prop) for name, prop in JSON_FIELDS.items()}
    profile = user.get("passwordProfile")
    attributes[FORCE_CHANGE] = profile.get("forceChangePasswordNextSignIn") if isinstance(profile, dict) else None
    return Observed(address, user.get("id"), attributes)


def _record_attrs(after: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in after.items() if k in JSON_FIELDS or k == FORCE_CHANGE}


def _password(loaded: LoadedSpec, location: Location | None = None) -> str:
    account = loaded.spec.service_account
    reference = account.password if account is not None else None
    if reference is None:
        raise SpecError(
            "the service account does not exist yet and the spec gives no password",
            "add password: ${env:CRONOFY_SVC_PASSWORD} to service_account and set the variable",
            location or loaded.locate("service_account"),
        )
    return loaded.resolve_env(reference, "service_account", "password")


class UserKind(ResourceKind):
    kind = "user"
    write_only = frozenset({"password"})
    sensitive = frozenset({"password"})
    online = Online(UserAttrs)
    server = Unsupported(UserAttrs)

    def backend(self, target: Target) -> Backend[Any]:
        return self.online if target is Target.EXCHANGE_ONLINE else self.server

    def desired(self, loaded: LoadedSpec, resolved: Mapping[str, Any]) -> list[Desired]:
        account = loaded.spec.service_account
        if account is None or loaded.spec.target is Target.EXCHANGE_SERVER:
            return []  # on-premises the account lives in Active Directory; `verify` checks it over EWS
        attributes = UserAttrs(
            user_principal_name=account.user_principal_name,
            display_name=account.display_name,
            given_name=account.given_name,
            surname=account.surname,
            mail_nickname=account.nickname,
            account_enabled=account.account_enabled,
            usage_location=account.usage_location,
            force_change_password_next_sign_in=account.force_change_password_next_sign_in,
        ).to_json()
        write_only = {"password": account.password}
        return [
            Desired(
                kind=self.kind,
                name="service_account",
                attributes={k: v for k, v in attributes.items() if v is not None},
                write_only=write_only,
                location=loaded.locate("service_account"),
            )
        ]

    def permissions(self, spec: Spec) -> list[Permission]:
        if spec.service_account is None or spec.target is Target.EXCHANGE_SERVER:
            return []
        read = ("GET /users/{upn}",)
        return [
            graph_permission(self.kind, READ, read, "https://learn.microsoft.com/en-us/graph/api/user-get"),
            graph_permission(
                self.kind,
                APPLY,
                ("POST /users", "PATCH /users/{id}", "DELETE /users/{id} (only what reconciler created)"),
                "https://learn.microsoft.com/en-us/graph/api/user-post-users",
                replaces=required_permission(read[0]),
            ),
        ]

    def check_create(self, loaded: LoadedSpec, desired: Desired) -> None:
        _password(loaded, desired.location)

    def check_update(self, loaded: LoadedSpec, desired: Desired, changed: list[str]) -> None:
        """Graph updates passwordProfile with the password: changing the sign-in flag needs the spec's password."""
        if FORCE_CHANGE in changed:
            _password(loaded, desired.location)

    def normalize(self, attributes: dict[str, Any]) -> dict[str, Any]:
        upn = attributes.get("user_principal_name")
        if isinstance(upn, str):
            return {**attributes, "user_principal_name": upn.lower()}
        return attributes

    def affects(self, name: str, attributes: Mapping[str, Any]) -> list[tuple[str, str | None]]:
        upn = attributes.get("user_principal_name")
        return [("the service account", str(upn) if upn else None)]

    # -- PowerShell (render/powershell.py) ---------------------------------------------------
    def powershell(self, change: dict[str, Any]) -> list[str]:
        """New-MgUser (the password from the script's SecureString parameter), Update-MgUser, Remove-MgUser."""
        # https://learn.microsoft.com/powershell/module/microsoft.graph.users/new-mguser (also update-/remove-mguser)
        return ps.by_action(change, create=self._ps_create, update=self._ps_update, delete=self._ps_delete)

    def _ps_create(self, change: dict[str, Any]) -> list[str]:
        attrs = ps.after(change)
        missing = ps.lacking(change, attrs, "user_principal_name", "display_name", "mail_nickname")
        if missing:
            return missing
        return [" ".join(["New-MgUser", *self._ps_properties(attrs, list(JSON_FIELDS)), self._ps_password(attrs)])]

    def _ps_update(self, change: dict[str, Any]) -> list[str]:
        properties = self._ps_properties(ps.after(change), list(change.get("changed") or []))
        if not properties:
            return [ps.comment(f"{change['address']}: no property to set")]
        return [" ".join(["Update-MgUser", "-UserId", self._ps_identity(change), *properties])]

    def _ps_delete(self, change: dict[str, Any]) -> list[str]:
        return [f"Remove-MgUser -UserId {self._ps_identity(change)} -Confirm:$false"]

    def _ps_properties(self, attrs: dict[str, Any], names: list[str]) -> list[str]:
        """`-DisplayName 'x'` per attribute (a boolean is a switch: `-AccountEnabled:$false`)."""
        result = []
        for name in [n for n in names if n in JSON_FIELDS and attrs.get(n) is not None]:
            parameter = JSON_FIELDS[name][0].upper() + JSON_FIELDS[name][1:]
            value = attrs[name]
            result.append(ps.switch(parameter, value) if isinstance(value, bool) else f"-{parameter} {ps.quote(value)}")
        return result

    def _ps_password(self, attrs: dict[str, Any]) -> str:
        """The password comes from the script's SecureString parameter, never from the plan."""
        force = ps.boolean(attrs.get("force_change_password_next_sign_in"))
        return (
            f"-PasswordProfile @{{ Password = [System.Net.NetworkCredential]::new('', {ps.PASSWORD}).Password; "
            f"ForceChangePasswordNextSignIn = {force} }}"
        )

    def _ps_identity(self, change: dict[str, Any]) -> str:
        """The object id, else the user principal name, else the script's -ServiceAccountUpn parameter."""
        was, will = ps.before(change), ps.after(change)
        value = change.get("id") or was.get("user_principal_name") or will.get("user_principal_name")
        return ps.quote(value) if value else ps.SERVICE_ACCOUNT
