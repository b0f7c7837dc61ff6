"""The bad-input corpus: each broken input gives exit 1, a message naming the place and the fix, no
traceback, and no change to the tenant or the state. `pytest` prints the corpus size at the end."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from reconciler.spec.loader import load_spec
from reconciler.spec.presets import read_csv_aliases
from tests.conftest import Workspace

TENANT = "6972eeb0-1bf6-5393-8f32-08076f624a10"
HEAD = f"version: 1\ntenant:\n  id: {TENANT}\n  simulator: tenant.json\n"
SVC = (
    "service_account:\n  user_principal_name: cronofy-svc@contoso.onmicrosoft.com\n  display_name: Svc\n"
    "  password: ${env:CRONOFY_SVC_PASSWORD}\n  usage_location: US\n"
)
APP = "integration:\n  app_id: 10bb7e5b-b80b-4e6e-a209-f78581dbc79e\n"
ACCESS = "access:\n  level: free_busy\n  scope_group: cronofy-scope@contoso.com\n  mailboxes: {{csv: {csv}}}\n"
# the service account's licenses (free/busy folder permissions need a mailbox on Exchange Online), the app, access
ACCESS_APP = "  licenses: [EXCHANGESTANDARD]\n" + APP + ACCESS
LAUGHS = "".join(  # the classic "billion laughs": ten levels, each alias nine times the previous one
    f"lol{n}: &l{n} [" + ", ".join([f"*l{n - 1}" if n else '"lol"'] * 9) + "]\n" for n in range(10)
)

# name: (spec text, expected message part, expected location part)
SPECS: dict[str, tuple[str, str, str]] = {
    "empty file": ("", "the spec is empty", ":1:1"),
    "only whitespace": ("\n\n   \n", "the spec is empty", ":1:1"),
    "top-level list": ("- version: 1\n", "a spec is a YAML mapping", ":1:1"),
    "tab indentation": ("version: 1\ntenant:\n\tid: x\n", "not valid YAML", ":3:"),
    "unclosed bracket": ("version: 1\ntenant: {id: [\n", "not valid YAML", ":"),
    "duplicate key": (HEAD + "version: 1\n", "not valid YAML", ":5:"),
    "unknown top-level key": (HEAD + "tenants: {}\n", "unknown field", "(tenants)"),
    "misspelt nested key": (
        HEAD + SVC + "  displayname: X\n",
        "did you mean 'display_name'",
        "(service_account.displayname)",
    ),
    "version not a number": (HEAD.replace("version: 1", "version: one"), "valid integer", "(version)"),
    "version 2": (HEAD.replace("version: 1", "version: 2"), "reads spec version 1", "(version)"),
    "tenant missing": ("version: 1\n", "required field is missing", "(tenant)"),
    "tenant id not a GUID": (HEAD.replace(TENANT, "contoso"), "must be a GUID", "(tenant.id)"),
    "unknown cloud": (HEAD + "  cloud: mars\n", "'global', 'usgov'", "(tenant.cloud)"),
    "tenant unnamed": ("version: 1\ntenant:\n  cloud: global\n", "name the tenant by id", "(tenant)"),
    "simulator not loopback": (
        HEAD.replace("tenant.json", "http://10.0.0.5:8080"),
        "must be on this machine",
        "(tenant)",
    ),
    "UPN without @": (
        HEAD + SVC.replace("cronofy-svc@contoso.onmicrosoft.com", "cronofy-svc"),
        "exactly one @",
        "(service_account.user_principal_name)",
    ),
    "empty display name": (
        HEAD + SVC.replace("display_name: Svc", "display_name: ''"),
        "at least 1 character",
        "(service_account.display_name)",
    ),
    "boolean as word": (
        HEAD + SVC + "  account_enabled: maybe\n",
        "valid boolean",
        "(service_account.account_enabled)",
    ),
    "usage location lower case": (
        HEAD + SVC.replace("usage_location: US", "usage_location: us"),
        "should match",
        "(service_account.usage_location)",
    ),
    "duplicate license": (
        HEAD + SVC + "  licenses: [ENTERPRISEPACK, ENTERPRISEPACK]\n",
        "more than once",
        "(service_account)",
    ),
    "license without usage location": (
        HEAD + SVC.replace("  usage_location: US\n", "") + "  licenses: [ENTERPRISEPACK]\n",
        "usage_location",
        "(service_account)",
    ),
    "password in clear": (
        HEAD + SVC.replace("${env:CRONOFY_SVC_PASSWORD}", "Hunter2-Secret!"),
        "reference an environment variable",
        "(service_account.password)",
    ),
    "malformed env reference": (
        HEAD + SVC.replace("${env:CRONOFY_SVC_PASSWORD}", "${ENV:X Y}"),
        "reference an environment variable",
        "(service_account.password)",
    ),
    "unknown access level": (
        HEAD + SVC + APP + "access:\n  level: partial\n",
        "'full', 'restricted' or 'free_busy'",
        "(access.level)",
    ),
    "restricted without group": (HEAD + SVC + APP + "access:\n  level: restricted\n", "set scope_group", "(access)"),
    "flags on Reviewer": (
        HEAD + "calendar_permissions:\n  - {mailbox: a@contoso.com, grantee: b@contoso.com, access_rights: Reviewer, "
        "sharing_permission_flags: [Delegate]}\n",
        "only to Editor",
        "(calendar_permissions.0)",
    ),
    "private items without delegate": (
        HEAD + "calendar_permissions:\n  - {mailbox: a@contoso.com, grantee: b@contoso.com, access_rights: Editor, "
        "sharing_permission_flags: [CanViewPrivateItems]}\n",
        "needs Delegate too",
        "(calendar_permissions.0)",
    ),
    "unknown access right": (
        HEAD + "calendar_permissions:\n  - {mailbox: a@contoso.com, grantee: b@contoso.com, access_rights: Editorr}\n",
        "'Editor'",
        "(calendar_permissions.0.access_rights)",
    ),
    "two assignees": (
        HEAD + "target: exchange_server\nrole_assignments:\n  - {name: x, role: ApplicationImpersonation, "
        "app_id: 10bb7e5b-b80b-4e6e-a209-f78581dbc79e, user: svc@contoso.com}\n",
        "exactly one assignee",
        "(role_assignments.0)",
    ),
    "impersonation online": (
        HEAD + "role_assignments:\n  - {name: x, role: ApplicationImpersonation, user: svc@contoso.com}\n",
        "no longer exists in Exchange Online",
        "(role_assignments.0.role)",
    ),
    "organization-wide without confirmation": (
        HEAD + APP + "access:\n  level: full\n",
        "every mailbox in the organization",
        "(access.level)",
    ),
    "unscoped role assignment": (
        HEAD + "role_assignments:\n  - {name: x, role: Application Calendars.Read, "
        "app_id: 10bb7e5b-b80b-4e6e-a209-f78581dbc79e}\n",
        "has no scope",
        "(role_assignments.0)",
    ),
    "server without EWS": (HEAD + "target: exchange_server\n", "needs an exchange_server section", "(target)"),
    "client secret without app": (
        HEAD + "  auth:\n    method: client_secret\n",
        "needs client_id, client_secret",
        "(tenant.auth)",
    ),
    "app id not a GUID": (HEAD + SVC + "integration:\n  app_id: cronofy\n", "must be a GUID", "(integration.app_id)"),
    "unlicensed mailbox owner": (
        HEAD + SVC + "  licenses: []\n  mailbox: true\n",
        "must own a mailbox",
        "(service_account.licenses)",
    ),
    "room list without name": (
        HEAD + "room_lists:\n  - {name: '', rooms: [Board room]}\n",
        "at least 1 character",
        "(room_lists.0.name)",
    ),
    "CSV missing": (
        HEAD
        + SVC
        + "  licenses: [EXCHANGESTANDARD]\n"
        + APP
        + "access:\n  level: free_busy\n  scope_group: cronofy-scope@contoso.com\n  mailboxes: {csv: nowhere.csv}\n",
        "cannot read mailbox CSV",
        "(access.mailboxes.csv)",
    ),
    "CSV without alias column": (
        HEAD
        + SVC
        + "  licenses: [EXCHANGESTANDARD]\n"
        + APP
        + "access:\n  level: free_busy\n  scope_group: cronofy-scope@contoso.com\n  mailboxes: {csv: noalias.csv}\n",
        "no 'alias' column",
        "noalias.csv:1:1",
    ),
    "CSV with an empty alias": (
        HEAD
        + SVC
        + "  licenses: [EXCHANGESTANDARD]\n"
        + APP
        + "access:\n  level: free_busy\n  scope_group: cronofy-scope@contoso.com\n  mailboxes: {csv: emptyalias.csv}\n",
        "empty alias",
        "emptyalias.csv:3",
    ),
    "CSV empty aliases after CRLF and blank lines": (
        HEAD + SVC + ACCESS_APP.format(csv="crlf.csv"),
        "crlf.csv:8: empty alias",  # and crlf.csv:6: every empty alias is reported
        "crlf.csv:6",  # physical lines: a quoted value spans two, blank lines count, CRLF is one break
    ),
    "CSV not text (undecodable bytes)": (
        HEAD + SVC + ACCESS_APP.format(csv="undecodable.csv"),
        "undecodable.csv is not readable text",
        "undecodable.csv:3",
    ),
    "CSV that is an Excel workbook": (
        HEAD + SVC + ACCESS_APP.format(csv="workbook.csv"),
        "is an Excel workbook (.xlsx)",
        "workbook.csv:1",
    ),
    "YAML alias bomb": (HEAD + LAUGHS, "YAML aliases expand the spec beyond 10,000 values", ":9:"),
    "YAML recursive alias": (HEAD + "x: &loop [1, *loop]\n", "recursive", ":5:"),
    "YAML nested 5000 deep": (HEAD + "x: " + "[" * 5000 + "]" * 5000 + "\n", "nests more than 64 levels", ":5:4"),
    "scope name over 64 characters": (
        HEAD
        + SVC
        + "  licenses: [EXCHANGESTANDARD]\n"
        + APP
        + "access:\n  level: free_busy\n  scope_group: g@contoso.com\n  scope_name: "
        + "S" * 65
        + "\n",
        "New-ManagementScope -Name takes at most 64",
        "(access.scope_name)",
    ),
    "assignment name over 64 characters": (
        HEAD
        + SVC
        + "  licenses: [EXCHANGESTANDARD]\n"
        + APP
        + "access:\n  level: free_busy\n  scope_group: g@contoso.com\n  assignment_name: "
        + "A" * 65
        + "\n",
        "New-ManagementRoleAssignment -Name takes at most 64",
        "(access.assignment_name)",
    ),
    "room list name over 64 characters": (
        HEAD + "room_lists:\n  - {name: " + "R" * 65 + ", rooms: [Board room]}\n",
        "New-DistributionGroup -Name (a room list) takes at most 64",
        "(room_lists.0.name)",
    ),
    "display name over 256 characters": (
        HEAD + SVC.replace("display_name: Svc", "display_name: " + "D" * 257),
        "displayName takes at most 256",
        "(service_account.display_name)",
    ),
    "UPN over 64 characters before the @": (
        HEAD + SVC.replace("cronofy-svc@", "c" * 65 + "@"),
        "the part before @ is 65 characters; 1 to 64",
        "(service_account.user_principal_name)",
    ),
    "mail nickname with a space": (
        HEAD + SVC + "  mail_nickname: cronofy svc\n",
        "' ' can't be used",
        "(service_account.mail_nickname)",
    ),
    "line break in a scope name": (
        HEAD + SVC + APP + 'access:\n  level: free_busy\n  scope_group: g@contoso.com\n  scope_name: "a\\nb"\n',
        "control character U+000A",
        "(access.scope_name)",
    ),
    "level full names mailboxes": (
        HEAD
        + SVC
        + APP
        + "access:\n  level: full\n  allow_organization_wide: true\n  mailboxes: {addresses: [alice]}\n",
        "access.mailboxes would be ignored",
        "(access.mailboxes)",
    ),
    "unlicensed account given folder permissions": (
        HEAD + SVC + APP + "access:\n  level: free_busy\n  scope_group: cronofy-scope@contoso.com\n",
        "Exchange Online grants folder permissions only to mail-enabled principals",
        "(service_account.licenses)",
    ),
    "mailboxes without folder permissions": (
        HEAD
        + SVC
        + APP
        + "access:\n  level: restricted\n  scope_group: cronofy-scope@contoso.com\n  folder_permissions: false\n"
        + "  mailboxes: {addresses: [alice]}\n",
        "but access.folder_permissions is false",
        "(access.mailboxes)",
    ),
}
# The guide's CSV as Excel writes it: each one is read, not refused (name: (bytes, aliases, a note expected)).
EXCEL_CSVS: dict[str, tuple[bytes, tuple[str, ...], str | None]] = {
    "Windows-1252 (CSV (Comma delimited)) with an accented alias": (
        "alias,name\r\nboardroom,Board room\r\nrené,René\r\n".encode("cp1252"),
        ("boardroom", "rené"),
        "Windows-1252",
    ),
    "UTF-16 tab-separated (Unicode Text)": (
        "\ufeffname\talias\r\nBoard room\tboardroom\r\nAlice\talice\r\n".encode("utf-16-le"),
        ("boardroom", "alice"),
        None,
    ),
    "semicolons (European Excel)": (
        b"Name;Alias\r\nBoard room;boardroom\r\nAlice;alice\r\n",
        ("boardroom", "alice"),
        None,
    ),
    "rows of separators only": (
        b"alias,name\r\nboardroom,Board room\r\n,\r\n,,\r\nalice,\r\n,\r\n",
        ("boardroom", "alice"),
        None,
    ),
    "header only": (b"\xef\xbb\xbfalias\r\n", (), None),
}
CORPUS_SIZE = len(SPECS) + len(EXCEL_CSVS) + 5  # + the state, plan, environment and size cases below


def _prepare(ws: Workspace) -> None:
    (ws.root / "noalias.csv").write_text("mailbox\nalice\n", encoding="utf-8")
    (ws.root / "emptyalias.csv").write_text("alias\nalice\n ,x\nbob\n", encoding="utf-8")
    (ws.root / "crlf.csv").write_bytes(b'alias,note\r\nalice,"two\r\nlines"\r\n\r\n\r\n,nobody\r\nbob,\r\n ,x\r\n')
    (ws.root / "undecodable.csv").write_bytes(b"alias\r\nalice\r\nbj\x81rn\r\n")
    (ws.root / "workbook.csv").write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00")


def _untouched(ws: Workspace, tenant_before: str) -> None:
    assert ws.tenant.read_text(encoding="utf-8") == tenant_before
    assert not ws.state.exists()


@pytest.mark.parametrize("name", list(SPECS))
def test_broken_spec(ws: Workspace, name: str) -> None:
    text, message, where = SPECS[name]
    _prepare(ws)
    ws.write_spec(text=text.replace("tenant.json", ws.tenant.name))
    before = ws.tenant.read_text(encoding="utf-8")
    for command in (["validate"], ["plan"]):
        result = ws.cli(*command, str(ws.spec))
        assert result.exit_code == 1, (name, result.output)
        assert message in result.stderr, (name, result.stderr)
        assert where in result.stderr, (name, result.stderr)
        assert ws.spec.name in result.stderr or ".csv" in where, (name, result.stderr)
        assert "Traceback" not in result.output
    assert "Hunter2-Secret!" not in ws.cli("validate", str(ws.spec)).output
    _untouched(ws, before)


def test_huge_spec_is_refused_without_reading_it(ws: Workspace) -> None:
    with ws.spec.open("w", encoding="utf-8") as handle:
        handle.write("version: 1\n# " + "x" * (50 * 1024 * 1024) + "\n")
    result = ws.cli("validate", str(ws.spec))
    assert result.exit_code == 1 and "a spec is a small YAML file" in result.stderr


def test_missing_environment_variable(ws: Workspace) -> None:
    before = ws.tenant.read_text(encoding="utf-8")
    result = ws.cli("apply", str(ws.spec), "--auto-approve", env={"CRONOFY_SVC_PASSWORD": ""})
    assert result.exit_code == 1 and "CRONOFY_SVC_PASSWORD is not set" in result.stderr
    _untouched(ws, before)


def test_corrupt_state_file(ws: Workspace) -> None:
    ws.state.parent.mkdir(parents=True)
    ws.state.write_text('{"version": 1, "serial": ', encoding="utf-8")
    result = ws.cli("plan", str(ws.spec))
    assert result.exit_code == 1 and "cannot read state file" in result.stderr and ".backup" in result.stderr
    assert ws.state.read_text(encoding="utf-8") == '{"version": 1, "serial": '


def test_state_from_a_newer_format(ws: Workspace) -> None:
    ws.state.parent.mkdir(parents=True)
    ws.state.write_text(json.dumps({"version": 2, "serial": 9, "lineage": "x", "resources": []}), encoding="utf-8")
    result = ws.cli("apply", str(ws.spec), "--auto-approve")
    assert result.exit_code == 1 and "format version 2" in result.stderr
    assert json.loads(ws.state.read_text(encoding="utf-8"))["serial"] == 9


def test_not_a_saved_plan(ws: Workspace, tmp_path: Path) -> None:
    broken = tmp_path / "broken.plan"
    broken.write_text('{"format_version": "1.0", "changes": "none"}', encoding="utf-8")
    before = ws.tenant.read_text(encoding="utf-8")
    result = ws.cli("apply", str(broken), "--auto-approve")
    assert result.exit_code == 1 and "is not a saved plan" in result.stderr
    _untouched(ws, before)


@pytest.mark.parametrize("name", list(EXCEL_CSVS))
def test_excel_csv_is_read(ws: Workspace, name: str) -> None:
    """What Excel writes is read, not refused: validate passes, plan grants each alias in the file."""
    data, aliases, note = EXCEL_CSVS[name]
    (ws.root / "excel.csv").write_bytes(data)
    ws.write_spec(text=(HEAD + SVC + ACCESS_APP.format(csv="excel.csv")).replace("tenant.json", ws.tenant.name))
    _add_mailbox(ws, "rené", "rene@contoso.com")
    result = ws.cli("validate", str(ws.spec))
    assert result.exit_code == 0, (name, result.output)
    loaded = load_spec(ws.spec)
    assert read_csv_aliases(loaded) == aliases
    assert (note is None and loaded.notes == ()) or (note is not None and note in " ".join(loaded.notes))
    plan = ws.cli("plan", str(ws.spec), "--json")
    assert plan.exit_code == 0, (name, plan.output)
    granted = {c["address"] for c in json.loads(plan.stdout)["changes"] if c["kind"] == "calendar_permission"}
    if aliases:  # (no aliases: presets still fall back to the scope group's members; zero mailboxes is to come)
        addresses = {"rené": "rene@contoso.com"}
        assert granted == {
            f"calendar_permission.{addresses.get(a, a + '@contoso.com')}/cronofy-svc@contoso.onmicrosoft.com"
            for a in aliases
        }


def _add_mailbox(ws: Workspace, alias: str, address: str) -> None:
    """A user mailbox like alice's, in the scope group (the spec's scope_group) and its mail-enabled twin."""
    guid = "5b0f4c1e-6d0a-4f43-9a35-7a4bb1f1e001"

    def add(data: dict[str, Any]) -> None:
        recipients = data["exchange"]["recipients"]
        alice = next(r for r in recipients if r["Alias"] == "alice")
        for group in recipients:
            if alice["Guid"] in group.get("Members", []):
                group["Members"].append(guid)
        recipients.append(
            {
                **alice,
                "Guid": guid,
                "Identity": alias,
                "Name": alias,
                "Alias": alias,
                "DisplayName": alias.title(),
                "PrimarySmtpAddress": address,
                "DistinguishedName": alice["DistinguishedName"].replace("CN=alice", f"CN={alias}"),
                "ExternalDirectoryObjectId": "5b0f4c1e-6d0a-4f43-9a35-7a4bb1f1e002",
            }
        )

    ws.set_tenant(add)


def test_an_alias_bomb_is_refused_before_it_expands(ws: Workspace) -> None:
    """Bounded by memory, not seconds (a timed assertion fails on a loaded machine): 10^9 values are tens of GB."""
    ws.write_spec(text=(HEAD + LAUGHS).replace("tenant.json", ws.tenant.name))
    ws.cli("validate", str(ws.spec))  # the modules a command imports are loaded once, outside the measure
    for command in ("validate", "plan"):
        tracemalloc.start()
        try:
            result = ws.cli(command, str(ws.spec))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert result.exit_code == 1 and "YAML aliases expand" in result.stderr
        assert peak < 64 * 1024 * 1024, f"{command}: {peak:,} bytes allocated before the refusal"
