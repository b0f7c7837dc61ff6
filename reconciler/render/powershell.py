"""`plan --format powershell`: a plan as Exchange Online / Microsoft Graph PowerShell, for review or hand-apply.

Read only from the plan's JSON (`Plan.to_json()`); each kind turns one change into commands with its
`powershell()` method (resources/base.py), working from the change's data alone, never the tenant.
Secrets never appear: the script declares them as parameters (the plan shows them as "(sensitive)").
Exchange Server changes that apply cannot make carry their own Exchange Management Shell commands
(`manual`), emitted as they are.

The syntax helpers here (quoting, switches, dispatch on the action) are shared by the kinds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reconciler.syntax import ps_single_quoted

if TYPE_CHECKING:
    from reconciler.resources.base import ResourceKind

SYMBOLS = {"create": "+", "update": "~", "replace": "-/+", "delete": "-", "forget": "."}
PASSWORD = "$ServiceAccountPassword"
SERVICE_ACCOUNT = "$ServiceAccountUpn"  # when a change does not name the account (a drift entry)
# Script parameters, declared only when a command uses them; their values are never written by reconciler.
SCRIPT_PARAMETERS = {
    PASSWORD: "[Parameter(Mandatory)][securestring]$ServiceAccountPassword",
    SERVICE_ACCOUNT: "[Parameter(Mandatory)][string]$ServiceAccountUpn",
}
USAGE = {
    PASSWORD: "-ServiceAccountPassword (Read-Host -AsSecureString 'Service account password')",
    SERVICE_ACCOUNT: "-ServiceAccountUpn <the service account's user principal name>",
}
# Delegated Microsoft Graph permissions each Graph cmdlet needs (Connect-MgGraph -Scopes), from its doc page.
GRAPH_SCOPES = {
    "New-MgUser": "User.ReadWrite.All",
    "Update-MgUser": "User.ReadWrite.All",
    "Remove-MgUser": "User.ReadWrite.All",
    "Set-MgUserLicense": "User.ReadWrite.All",
    "Get-MgSubscribedSku": "Organization.Read.All",
    "Get-MgServicePrincipal": "Application.Read.All",
    "Remove-MgServicePrincipalAppRoleAssignment": "AppRoleAssignment.ReadWrite.All",
}
QUOTES = "'\u2018\u2019\u201a\u201b"  # PowerShell ends a single-quoted string at any of these
CMDLET = re.compile(r"(?<![\w$-])([A-Z][a-z]+-[A-Za-z]+)\b")
SINGLE_QUOTED = re.compile(r"'(?:[^']|'')*'")
BARE = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")

Render = Callable[[dict[str, Any]], list[str]]


# -- syntax --------------------------------------------------------------------------------
def quote(value: object) -> str:
    """A single-quoted PowerShell string: nothing inside is expanded; each quote character is doubled."""
    return ps_single_quoted(str(value))


def word(value: object) -> str:
    """An enum value (Editor, RestrictAccess) bare, anything else quoted."""
    text = str(value)
    return text if BARE.match(text) else quote(text)


def words(values: Iterable[object]) -> str:
    """A list of enum values as PowerShell reads them in argument mode: Delegate,CanViewPrivateItems."""
    return ",".join(word(v) for v in values)


def strings(values: Iterable[object]) -> str:
    """`@('a', 'b')`: an array of quoted strings."""
    return "@(" + ", ".join(quote(v) for v in values) + ")"


def switch(name: str, on: object) -> str:
    """`-Name` when true, `-Name:$false` when false (Microsoft Graph PowerShell's boolean switches)."""
    return f"-{name}" if on else f"-{name}:$false"


def boolean(value: object) -> str:
    return "$true" if value else "$false"


def comment(text: str) -> str:
    """A one-line comment, whatever the text holds."""
    return "# " + " ".join(str(text).split())


# -- change data ---------------------------------------------------------------------------
def name_of(change: Mapping[str, Any]) -> str:
    """The name part of the change's address (`kind.name`)."""
    return str(change["address"]).split(".", 1)[1]


def before(change: Mapping[str, Any]) -> dict[str, Any]:
    return dict(change.get("before") or {})


def after(change: Mapping[str, Any]) -> dict[str, Any]:
    return dict(change.get("after") or {})


def lacking(change: Mapping[str, Any], values: Mapping[str, Any], *names: str) -> list[str]:
    """A comment when the change does not carry what the command needs (e.g. a drift entry); else []."""
    missing = [n for n in names if values.get(n) is None]
    if not missing:
        return []
    return [comment(f"{change['address']}: needs {', '.join(missing)}, which this change does not give")]


def by_action(change: dict[str, Any], *, create: Render, update: Render, delete: Render) -> list[str]:
    """Dispatch on the action: replace is delete then create; forget changes nothing in the tenant."""
    action = change["action"]
    if action == "create":
        return create(change)
    if action == "update":
        return update(change)
    if action == "delete":
        return delete(change)
    if action == "replace":
        return [*delete(change), *create(change)]
    return [comment(f"{change['address']}: nothing to run ({action})")]


# -- script --------------------------------------------------------------------------------
def change_block(change: dict[str, Any], kinds: Mapping[str, ResourceKind]) -> list[str]:
    """`# <symbol> <address>`, what it widens, why, then the commands; no-op changes give nothing."""
    action = change["action"]
    if action == "no-op":
        return []
    lines = [comment(f"{SYMBOLS.get(action, action)} {change['address']}")]
    if change.get("widens"):
        lines.append(comment(f"(!) widens access: {change['widens']}"))
    if change.get("reason"):
        lines.append(comment(f"({change['reason']})"))
    return [*lines, *commands(change, kinds)]


def commands(change: dict[str, Any], kinds: Mapping[str, ResourceKind]) -> list[str]:
    kind = kinds.get(change["kind"])
    if kind is None:
        return list(change.get("manual") or []) or [comment(f"{change['address']}: no PowerShell equivalent")]
    return kind.powershell(change)


def script_body(changes: Sequence[dict[str, Any]], kinds: Mapping[str, ResourceKind]) -> list[str]:
    """The param block (secrets the commands need), `$ErrorActionPreference = 'Stop'`, one block per change."""
    blocks = [block for change in changes if (block := change_block(change, kinds))]
    lines = [line for block in blocks for line in block]
    body: list[str] = [*parameter_block(lines), "$ErrorActionPreference = 'Stop'"]
    for block in blocks:
        body += ["", *block]
    return body


def parameter_block(lines: Sequence[str]) -> list[str]:
    used = used_parameters(lines)
    if not used:
        return []
    declarations = [f"    {SCRIPT_PARAMETERS[v]}" + ("," if i < len(used) - 1 else "") for i, v in enumerate(used)]
    return ["param(", *declarations, ")", ""]


def used_parameters(lines: Sequence[str]) -> list[str]:
    code = [line for line in lines if not line.lstrip().startswith("#")]
    return [v for v in SCRIPT_PARAMETERS if any(re.search(re.escape(v) + r"\b", line) for line in code)]


def cmdlets(lines: Sequence[str]) -> list[str]:
    """Every cmdlet named by the non-comment lines, in order of first use."""
    found: dict[str, None] = {}
    for line in lines:
        if not line.lstrip().startswith("#"):
            found.update(dict.fromkeys(CMDLET.findall(SINGLE_QUOTED.sub("''", line))))
    return list(found)


def session_hint(lines: Sequence[str], exchange_server: bool) -> str:
    """Where to run the commands: the Exchange Management Shell, or Connect-ExchangeOnline / Connect-MgGraph."""
    if exchange_server:
        return "in the Exchange Management Shell on an Exchange server"
    named = cmdlets(lines)
    scopes = sorted({GRAPH_SCOPES[c] for c in named if c in GRAPH_SCOPES})
    exchange = [c for c in named if "-Mg" not in c]
    parts = (["Connect-ExchangeOnline"] if exchange else []) + (
        [f"Connect-MgGraph -Scopes {','.join(scopes)}"] if scopes else []
    )
    return f"in a session opened with {' and '.join(parts)}" if parts else "in any PowerShell session"


def summary_text(summary: Mapping[str, int]) -> str:
    text = f"Plan: {summary['add']} to add, {summary['change']} to change, {summary['destroy']} to destroy."
    if summary.get("forget"):
        text += f" {summary['forget']} to stop managing."
    if summary.get("widen"):
        count = summary["widen"]
        text += f" {count} {'change widens' if count == 1 else 'changes widen'} access to mailboxes (marked (!) below)."
    if summary.get("manual"):
        text += f" {summary['manual']} need Exchange Management Shell commands run by hand."
    return text


def is_exchange_server(changes: Sequence[Mapping[str, Any]], target: str | None = None) -> bool:
    """The plan's target (plan format 1.1); older plans: only Exchange Server plans carry `manual` commands."""
    if target is not None:
        return target == "exchange_server"
    return any(c.get("manual") for c in changes if c["action"] != "no-op")


def plan_script(plan: dict[str, Any], kinds: Mapping[str, ResourceKind]) -> str:
    """The whole plan as one PowerShell script: header, param block, then each change in plan order."""
    changes = [c for c in plan["changes"] if c["action"] != "no-op"]
    body = script_body(changes, kinds)
    return "\n".join([*_header(plan, body, is_exchange_server(changes, plan.get("target"))), "", *body]) + "\n"


def _header(plan: Mapping[str, Any], body: Sequence[str], exchange_server: bool) -> list[str]:
    spec = (plan.get("spec") or {}).get("path", "")
    lines = [
        comment(f"reconciler plan as PowerShell: tenant {plan['tenant']}, spec {spec}"),
        comment(summary_text(plan["summary"])),
        comment("Generated by reconciler from the plan; reconciler does not run it."),
        comment(f"Review it, then run it {session_hint(body, exchange_server)}."),
    ]
    if not plan["changes"] or all(c["action"] == "no-op" for c in plan["changes"]):
        lines.append(comment("No changes: the tenant matches the spec."))
    used = used_parameters(body)
    if used:
        lines.append(comment("Usage: ./plan.ps1 " + " ".join(USAGE[v] for v in used)))
    lines += [comment(f"Targets: {', '.join(plan['targets'])}")] if plan.get("targets") else []
    lines += [comment(f"Warning: {w}") for w in plan.get("warnings", [])]
    return lines
