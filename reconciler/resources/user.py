"""`user`: the integration's service account, an Entra ID user (guide steps 1-3).

Read:   GET /users/{userPrincipalName} (or by the id state recorded, so a renamed UPN is followed)
Create: POST /users with passwordProfile (password from the environment, never recorded)
Update: PATCH /users/{id}
Delete: DELETE /users/{id}, only when state records that reconciler created it
https://learn.microsoft.com/en-us/graph/api/resources/user
"""

from __future__ import annotations

from typing import Any

from reconciler.clients.graph import required_permission
from reconciler.errors import SpecError
from reconciler.render import powershell as ps
from reconciler.resources.base import (
    APPLY,
    READ,
    Context,
    Desired,
    Observed,
    Permission,
    ResourceKind,
    graph_permission,
)
from reconciler.spec.models import Spec, Target
from reconciler.state.model import ResourceRecord

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


class UserKind(ResourceKind):
    kind = "user"
    write_only = frozenset({"password", "force_change_password_next_sign_in"})
    sensitive = frozenset({"password"})

    def desired(self, ctx: Context) -> list[Desired]:
        spec = ctx.spec
        account = spec.spec.service_account
        if account is None or spec.spec.target is Target.EXCHANGE_SERVER:
            return []  # on-premises the account lives in Active Directory; `verify` checks it over EWS
        attributes: dict[str, Any] = {
            "user_principal_name": account.user_principal_name,
            "display_name": account.display_name,
            "given_name": account.given_name,
            "surname": account.surname,
            "mail_nickname": account.nickname,
            "account_enabled": account.account_enabled,
            "usage_location": account.usage_location,
        }
        write_only = {
            "password": account.password,
            "force_change_password_next_sign_in": account.force_change_password_next_sign_in,
        }
        return [
            Desired(
                kind=self.kind,
                name="service_account",
                attributes={k: v for k, v in attributes.items() if v is not None},
                write_only=write_only,
                location=spec.locate("service_account"),
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

    def read(self, ctx: Context, desired: Desired | None, record: ResourceRecord | None) -> Observed | None:
        user = None
        if record is not None and record.id:
            user = ctx.clients.graph.get_user(record.id)
        if user is None and desired is not None:
            user = ctx.clients.graph.get_user(desired.attributes["user_principal_name"])
        if user is None:
            return None
        attributes = {name: user.get(prop) for name, prop in JSON_FIELDS.items()}
        return Observed(id=user.get("id"), attributes=attributes)

    def check_create(self, ctx: Context, desired: Desired) -> None:
        self._password(ctx, desired)

    def _password(self, ctx: Context, desired: Desired) -> str:
        reference = desired.write_only.get("password")
        if reference is None:
            raise SpecError(
                "the service account does not exist yet and the spec gives no password",
                "add password: ${env:CRONOFY_SVC_PASSWORD} to service_account and set the variable",
                desired.location,
            )
        return ctx.spec.resolve_env(reference, "service_account", "password")

    def create(self, ctx: Context, desired: Desired) -> Observed:
        password = self._password(ctx, desired)
        properties = {GRAPH_FIELDS[k]: v for k, v in desired.attributes.items()}
        user = ctx.clients.graph.create_user(
            properties, password, bool(desired.write_only.get("force_change_password_next_sign_in"))
        )
        return Observed(id=user.get("id"), attributes=dict(desired.attributes))

    def update(self, ctx: Context, desired: Desired, remote_id: str | None, changed: list[str]) -> Observed:
        assert remote_id is not None
        ctx.clients.graph.update_user(remote_id, {GRAPH_FIELDS[k]: desired.attributes[k] for k in changed})
        return Observed(id=remote_id, attributes=dict(desired.attributes))

    def delete(self, ctx: Context, record: ResourceRecord) -> None:
        assert record.id is not None
        ctx.clients.graph.delete_user(record.id)

    def normalize(self, attributes: dict[str, Any]) -> dict[str, Any]:
        upn = attributes.get("user_principal_name")
        if isinstance(upn, str):
            return {**attributes, "user_principal_name": upn.lower()}
        return attributes

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
