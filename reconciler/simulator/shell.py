"""An admin at the Exchange Management Shell of the simulated tenant (`reconciler sim ems FILE "<line>" ...`).

On an on-premises (exchange_server) tenant this is the only way to run cmdlets, as on a real server,
where reconciler's plan hands them to an admin. Lines are parsed like simple PowerShell
(`New-ManagementRoleAssignment -Name X -Role ApplicationImpersonation -User svc@contoso.com`), and one
form of variable is understood, as the guide uses it:
`$DistGroupDN = (Get-DistributionGroup 'x').DistinguishedName`, then `'$DistGroupDN'` in later lines.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from reconciler.simulator.exchange_admin import parse_cmdlet_line, run_cmdlet
from reconciler.simulator.exchange_errors import CmdletError
from reconciler.simulator.store import TenantStore

_ASSIGNMENT = re.compile(r"^\$(?P<name>\w+)\s*=\s*\((?P<cmdlet>.+)\)\.(?P<property>\w+)$")


class ShellError(Exception):
    """A cmdlet failed; the text is what the shell would print."""


def run_shell_line(tenant_file: Path, line: str) -> list[dict[str, Any]]:
    """Run one cmdlet line against the tenant file and save it; the cmdlet's output objects."""
    return run_shell_lines(tenant_file, [line])


def run_shell_lines(tenant_file: Path, lines: list[str]) -> list[dict[str, Any]]:
    """Run lines in one session (variables carry over); save once all succeeded."""
    store = TenantStore(tenant_file)
    variables: dict[str, str] = {}
    output: list[dict[str, Any]] = []
    with store.lock:
        for line in lines:
            output = _run(store, _substitute(line.strip(), variables), variables)
        store.save()
    return output


def _run(store: TenantStore, line: str, variables: dict[str, str]) -> list[dict[str, Any]]:
    assignment = _ASSIGNMENT.match(line)
    command = assignment.group("cmdlet") if assignment else line
    try:
        name, parameters = parse_cmdlet_line(command)
        rows = run_cmdlet(store.data, name, parameters)
    except CmdletError as exc:
        raise ShellError(f"{exc.exc_type}: {exc.text}") from None
    except ValueError as exc:  # the line is not simple PowerShell this shell understands
        raise ShellError(f"ParserError: {exc}") from None
    if assignment:
        if not rows:
            raise ShellError(f"{command} returned nothing to assign to ${assignment.group('name')}")
        variables[assignment.group("name")] = str(rows[0].get(assignment.group("property"), ""))
        return []
    return rows


def _substitute(line: str, variables: dict[str, str]) -> str:
    for name, value in variables.items():
        line = line.replace(f"${name}", value)
    return line
