"""`reconciler permissions SPEC`: what reconciler's own identity needs, read-only vs apply, per spec.

The consistency tests run plan, drift, export, verify and apply of the Exchange Online specs against the simulated
tenant, record every Graph request (inner `$batch` requests too) and every Exchange admin API cmdlet reconciler's
clients send, and check that `permissions` lists each one: in the read-only set for the read-only commands.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from reconciler.clients import graph
from reconciler.clients.exchange_admin import ExchangeAdminClient
from reconciler.clients.graph import GraphClient, required_permission
from reconciler.engine.permissions import PermissionReport, required_permissions
from reconciler.resources import KINDS
from reconciler.resources.base import (
    APPLICATION_IMPERSONATION,
    EWS_ACCOUNT,
    EXCHANGE_APP_PERMISSION,
    EXCHANGE_ONLINE_ROLE,
    GRAPH_PERMISSION,
    RECONCILER_APP,
    SHELL_ADMIN,
)
from reconciler.spec.loader import load_spec
from tests.conftest import REPO, Tenant

ONLINE = ("example", "free_busy", "restricted", "full")
SPECS = (*ONLINE, "exchange-server")
# Exchange roles that change the tenant: never in the read-only set of reconciler's app.
WRITE_ROLES = {"Mail Recipients", "Distribution Groups", "Organization Configuration", "Role Management"}
WRITE_ROLES |= {"Organization Management", "Recipient Management", APPLICATION_IMPERSONATION}


def report_for(name: str, path: Path | None = None) -> PermissionReport:
    return required_permissions(load_spec(path or REPO / "specs" / f"{name}.yaml"))


def names(entries: Any, api: str | None = None, holder: str = RECONCILER_APP) -> set[str]:
    return {e.name for e in entries if (api is None or e.api == api) and e.holder == holder}


def cmdlets(entries: Any) -> set[str]:
    """The cmdlets Exchange Online role entries cover ("New-DistributionGroup -RoomList" -> New-DistributionGroup)."""
    return {call.split()[0] for e in entries if e.api == EXCHANGE_ONLINE_ROLE for call in e.calls}


def spec_variant(tmp_path: Path, base: str, old: str, new: str) -> Path:
    text = (REPO / "specs" / f"{base}.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "specs" / f"{base}-variant.yaml"
    path.parent.mkdir(exist_ok=True)
    (tmp_path / "specs" / "cronofy.csv").write_text((REPO / "specs" / "cronofy.csv").read_text())
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


# -- the sets, per spec ----------------------------------------------------------------------
@pytest.mark.parametrize("name", SPECS)
def test_read_only_set_is_covered_by_what_apply_needs(name: str) -> None:
    """Granting read + apply (dropping the read permissions an apply one replaces) still covers every read."""
    report = report_for(name)
    assert report.read, "every spec reads something"
    keys = [(e.api, e.name, e.holder) for e in report.entries]
    assert len(keys) == len(set(keys)), "each permission is listed once, in read or in apply"
    replaced = {e.replaces for e in report.apply if e.replaces}
    apply_grant = {(e.api, e.name, e.holder) for e in report.entries if e.name not in replaced}
    for entry in report.read:
        covered = (entry.api, entry.name, entry.holder) in apply_grant or entry.name in replaced
        assert covered, entry
    for entry in report.apply:
        assert entry.replaces is None or entry.replaces in names(report.read), entry


@pytest.mark.parametrize("name", SPECS)
def test_read_only_set_has_no_write_permission_or_role(name: str) -> None:
    report = report_for(name)
    assert report.read, "every spec reads something"
    for entry in report.read:
        if entry.holder == EWS_ACCOUNT:  # Exchange Server: reading a Calendar over EWS is by impersonation
            assert entry.name == APPLICATION_IMPERSONATION, entry
            continue
        assert entry.holder == RECONCILER_APP, entry
        assert "ReadWrite" not in entry.name and entry.name not in WRITE_ROLES, entry
    for entry in report.entries:
        assert entry.doc.startswith("https://"), entry
        assert entry.why and entry.calls and entry.commands, entry


def test_example_needs_graph_calendar_writes_role_management_and_distribution_groups() -> None:
    report = report_for("example")
    assert names(report.read, GRAPH_PERMISSION) == {
        "User.Read.All",
        "LicenseAssignment.Read.All",
        "Calendars.ReadBasic.All",
        "Application.Read.All",  # the app's Entra consent, when it still has an access policy (migration)
    }
    assert names(report.read, EXCHANGE_APP_PERMISSION) == {"Exchange.ManageAsAppV2"}
    assert names(report.read, EXCHANGE_ONLINE_ROLE) == {"View-Only Recipients", "View-Only Configuration"}
    assert names(report.apply, GRAPH_PERMISSION) == {
        "User.ReadWrite.All",
        "LicenseAssignment.ReadWrite.All",
        "Calendars.ReadWrite",
    }  # Application.Read.All (the integration's object id, for New-ServicePrincipal) is already read
    assert names(report.apply, EXCHANGE_ONLINE_ROLE) == {"Role Management", "Distribution Groups"}
    assert {"New-ManagementScope", "New-ManagementRoleAssignment", "New-ServicePrincipal"} <= cmdlets(report.apply)
    assert {"New-DistributionGroup", "Add-DistributionGroupMember"} <= cmdlets(report.apply)
    replaced = {e.name: e.replaces for e in report.apply}
    assert replaced["User.ReadWrite.All"] == "User.Read.All"
    assert replaced["Calendars.ReadWrite"] == "Calendars.ReadBasic.All"
    # least privileged first: read before apply, and View-Only Recipients before View-Only Configuration
    roles = [e.name for e in report.read if e.api == EXCHANGE_ONLINE_ROLE]
    assert roles == ["View-Only Recipients", "View-Only Configuration"]


def test_restricted_with_an_access_policy_needs_organization_configuration_not_role_management() -> None:
    report = report_for("restricted")
    assert names(report.apply, EXCHANGE_ONLINE_ROLE) == {"Organization Configuration"}
    policy = next(e for e in report.apply if e.name == "Organization Configuration")
    assert "New-ApplicationAccessPolicy" in policy.calls and policy.owners == ["application_access_policy"]
    assert "Get-ApplicationAccessPolicy" in cmdlets(report.read)
    assert "Test-ApplicationAccessPolicy" in cmdlets(report.read)  # verify
    assert "Test-ServicePrincipalAuthorization" not in cmdlets(report.read)


def test_free_busy_writes_through_graph_and_makes_a_scope() -> None:
    report = report_for("free_busy")
    assert "Calendars.ReadWrite" in names(report.apply)  # AvailabilityOnly = freeBusyRead, written through Graph
    # scope + role assignment, the rooms' booking policy (Set-CalendarProcessing) and metadata (Set-Place)
    assert names(report.apply, EXCHANGE_ONLINE_ROLE) == {"Role Management", "Mail Recipients", "TenantPlacesManagement"}
    assert "Set-CalendarProcessing" in cmdlets(e for e in report.apply if "room_booking" in e.owners)


def test_exchange_server_needs_impersonation_for_the_ews_account_and_nothing_from_graph() -> None:
    report = report_for("exchange-server")
    assert not [e for e in report.entries if e.api in (GRAPH_PERMISSION, EXCHANGE_APP_PERMISSION, EXCHANGE_ONLINE_ROLE)]
    assert names(report.read, holder=EWS_ACCOUNT) == {APPLICATION_IMPERSONATION}
    assert not names(report.entries, holder=RECONCILER_APP)
    assert names(report.apply, holder=SHELL_ADMIN) == {"View-Only Recipients", "Distribution Groups", "Role Management"}
    grant = "\n".join(report.grant_read)
    assert "-Role ApplicationImpersonation -User 'reconciler-admin@contoso.com'" in grant
    assert "-CustomRecipientWriteScope 'CronofyImpersonationScope'" in grant
    assert report.ews_account == "reconciler-admin@contoso.com"


def test_ews_allow_list_needs_organization_configuration(tmp_path: Path) -> None:
    path = spec_variant(tmp_path, "example", "restriction: rbac_for_applications", "uses_ews: true")
    report = report_for("", path)
    ews = [e for e in report.apply if "ews_access" in e.owners]
    assert [e.name for e in ews] == ["Organization Configuration"]
    assert "Set-OrganizationConfig" in cmdlets(ews)
    assert "Get-OrganizationConfig" in cmdlets(e for e in report.read if "ews_access" in e.owners)


def test_rights_graph_cannot_write_go_through_the_admin_api(tmp_path: Path) -> None:
    """Reviewer has no exact Graph role: reconciler reads and writes it with *-MailboxFolderPermission."""
    extra = (
        "calendar_permissions:\n  - {mailbox: alice@contoso.com, grantee: bob@contoso.com, access_rights: Reviewer}\n"
    )
    path = spec_variant(tmp_path, "example", "room_lists:", extra + "room_lists:")
    report = report_for("", path)
    assert "Get-MailboxFolderPermission" in cmdlets(report.read)
    folder = next(e for e in report.apply if e.name == "Mail Recipients")
    assert "Add-MailboxFolderPermission" in folder.calls
    assert "Calendars.ReadWrite" in names(report.apply)  # the preset's entries still go through Graph


def test_graph_names_are_the_names_a_refused_call_gives() -> None:
    """Every Graph entry is named by clients/graph.py's PERMISSIONS table, as the 403 message names it."""
    checked = 0
    for name in SPECS:
        for entry in report_for(name).entries:
            if entry.api == GRAPH_PERMISSION:
                for call in entry.calls:
                    assert required_permission(call) == entry.name, (call, entry.name)
                    assert entry.name in graph.missing_permission(call)
                    checked += 1
    assert checked, "no Graph entry lists a call"


def test_every_kind_declares_what_it_needs() -> None:
    """A new kind must say what it needs (ResourceKind.permissions) for a spec that uses it."""
    variants = [load_spec(REPO / "specs" / f"{n}.yaml").spec for n in SPECS]
    integration = variants[0].integration
    assert integration is not None, f"specs/{SPECS[0]}.yaml names no integration"
    ews = load_spec(REPO / "specs" / "example.yaml").spec.model_copy(
        update={"integration": integration.model_copy(update={"uses_ews": True})}
    )
    for kind in KINDS.values():
        assert any(kind.permissions(spec) for spec in [*variants, ews]), f"{kind.kind}: permissions() lists nothing"


# -- the command -----------------------------------------------------------------------------
def test_cli_prints_both_sets_and_how_to_grant_them(tenant: Tenant) -> None:
    result = tenant.cli("permissions", tenant.spec_file("example"))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("Read-only") < out.index("Apply additionally needs") < out.index("Grant the read-only set")
    assert "User.ReadWrite.All (replaces User.Read.All)" in out
    assert "New-ManagementRoleAssignment -App $App.Id -Role 'View-Only Recipients'" in out
    assert "https://learn.microsoft.com/en-us/graph/api/subscribedsku-list" in out


@pytest.mark.parametrize("name", ["example", "exchange-server"])
def test_cli_json_parses(tenant: Tenant, name: str) -> None:
    result = tenant.cli("permissions", tenant.spec_file(name), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["format_version"] == "1.0" and data["target"] in ("exchange_online", "exchange_server")
    for entry in data["read"] + data["apply"]:
        assert {"api", "name", "needed_for", "why", "doc"} <= set(entry)
    assert {e["needed_for"] for e in data["read"]} == {"read"}
    assert {e["needed_for"] for e in data["apply"]} <= {"apply"}


# -- consistency with what reconciler really sends -------------------------------------------------
@dataclass
class Sent:
    graph: list[str] = field(default_factory=list)
    cmdlets: list[str] = field(default_factory=list)

    def clear(self) -> None:
        self.graph.clear()
        self.cmdlets.clear()


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sent]:
    """Every Graph request (inner $batch requests one by one) and admin API cmdlet reconciler's clients send."""
    record = Sent()
    send_once, run = GraphClient._send_once, ExchangeAdminClient.run

    async def recording_send(self: GraphClient, method: str, path: str, body: Any = None) -> dict[str, Any]:
        if path == "/$batch" and isinstance(body, dict):
            record.graph += [f"{r['method']} {r['url']}" for r in body["requests"]]
        else:
            record.graph.append(f"{method} {path}")
        return await send_once(self, method, path, body)

    def recording_run(
        self: ExchangeAdminClient, cmdlet: str, parameters: Any = None, *, what: str = "", select: Any = ()
    ) -> Any:
        record.cmdlets.append(cmdlet)
        return run(self, cmdlet, parameters, what=what, select=select)

    monkeypatch.setattr(GraphClient, "_send_once", recording_send)
    monkeypatch.setattr(ExchangeAdminClient, "run", recording_run)
    yield record


def assert_listed(record: Sent, entries: list[Any], command: str) -> None:
    granted = {e.name for e in entries if e.api == GRAPH_PERMISSION}
    for call in record.graph:
        needed = required_permission(call)
        assert needed is not None, f"{command}: {call} is not in clients/graph.py's PERMISSIONS"
        assert needed in granted, f"{command}: {call} needs {needed}, which `permissions` does not list here"
    missing = set(record.cmdlets) - cmdlets(entries)
    assert not missing, f"{command}: cmdlets {sorted(missing)} are not covered by the Exchange roles listed here"


@pytest.mark.parametrize("name", ["example", "free_busy", "restricted"])
def test_what_reconciler_sends_is_listed(tenant: Tenant, sent: Sent, name: str) -> None:
    """plan, then apply, then drift, export and verify of the applied tenant: each call is listed (reads as read)."""
    spec = tenant.spec_file(name)
    report = report_for(name, Path(spec))
    assert tenant.cli("plan", spec).exit_code == 0
    assert_listed(sent, report.read, "plan")
    sent.clear()
    applied = tenant.cli("apply", spec, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert_listed(sent, report.entries, "apply")
    writes = [c for c in sent.graph if not c.startswith("GET ")] + [c for c in sent.cmdlets if not c.startswith("Get-")]
    assert len(writes) > 2, "apply changed the tenant"
    exported = str(tenant.root / "specs" / "exported.yaml")
    for command, args in (("drift", ()), ("export", ("--out", exported)), ("verify", ())):
        sent.clear()
        result = tenant.cli(command, spec, *args)
        assert result.exit_code == 0, result.output
        assert sent.graph or sent.cmdlets, f"{command} sent nothing"
        assert_listed(sent, report.read, command)


def test_room_booking_on_exchange_server_reads_the_rooms_by_impersonation(tmp_path: Path) -> None:
    """AutomateProcessing is read from each room's calendar options (GetUserConfiguration) as the EWS account."""
    path = spec_variant(
        tmp_path,
        "exchange-server",
        "room_lists:",
        "room_booking:\n  - rooms: [boardroom@contoso.com]\n    automate_processing: AutoAccept\nroom_lists:",
    )
    report = report_for("", path)
    [read] = [e for e in report.read if "room_booking" in e.owners]
    assert (read.name, read.holder) == (APPLICATION_IMPERSONATION, EWS_ACCOUNT)
    assert any("GetUserConfiguration" in call for call in read.calls)
    [write] = [e for e in report.apply if "room_booking" in e.owners]
    assert (write.name, write.holder, list(write.calls)) == ("Mail Recipients", SHELL_ADMIN, ["Set-CalendarProcessing"])


def test_the_service_principal_kind_reads_and_registers_the_integrations_exchange_pointer() -> None:
    report = report_for("example")
    read = next(e for e in report.read if "Get-ServicePrincipal" in e.calls)
    assert read.name == "View-Only Configuration" and "service_principal" in read.owners
    apply = next(e for e in report.apply if "New-ServicePrincipal" in e.calls)
    assert apply.name == "Role Management" and "Remove-ServicePrincipal" not in apply.calls  # never removed
    assert "service_principal" in apply.owners
    # Exchange Server has no service principals: the kind asks nothing there
    assert "service_principal" not in {o for e in report_for("exchange-server").entries for o in e.owners}
