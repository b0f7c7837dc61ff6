"""Every Exchange cmdlet the product can emit runs on the simulator.

The cmdlet names come from the string literals of reconciler/ outside reconciler/simulator/ (an ast walk, so
comments don't count): what reconciler sends to the admin API and what it prints for an admin to run (a plan's
manual commands, `plan --format powershell`, `permissions`). Microsoft Graph PowerShell (`*-Mg*`) is not Exchange.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from reconciler.simulator import exchange_admin as xa

ROOT = Path(__file__).resolve().parents[2] / "reconciler"
CMDLET = re.compile(r"\b(Get|Set|New|Remove|Add|Test|Enable|Disable)-[A-Z][A-Za-z]+\b")
# Cmdlets named only in advice inside help or error text, never as a command reconciler runs or hands over:
ONLY_IN_HELP_TEXT = {
    "Get-ManagementRoleEntry": "engine/permissions.py: how to look up which roles hold a cmdlet",
    "New-Mailbox": "resources/room_list.py: the fix a refusal suggests (New-Mailbox -Room)",
}


def emitted() -> dict[str, set[str]]:
    """Cmdlet name -> the files whose string literals name it."""
    found: dict[str, set[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        if "simulator" in path.relative_to(ROOT).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for match in CMDLET.finditer(node.value):
                    name = match.group(0)
                    if not name.split("-", 1)[1].startswith("Mg"):
                        found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_emitted_exchange_cmdlet_is_emulated() -> None:
    names = emitted()
    assert len(names) > 25, sorted(names)  # the walk found the product's cmdlets
    missing = {n: sorted(files) for n, files in names.items() if n not in xa.CMDLETS and n not in ONLY_IN_HELP_TEXT}
    assert not missing, f"emitted by the product but not emulated by the simulator: {missing}"
    for name in names:
        if name in xa.CMDLETS:  # handled by the admin API's dispatch table, which the shell runs too
            assert xa.available(name, online=True) or xa.available(name, online=False), name


def test_the_help_text_allow_list_stays_short_and_true() -> None:
    names = emitted()
    for name, where in ONLY_IN_HELP_TEXT.items():
        assert name in names, f"{name} is no longer named by the product: drop it from the list"
        assert name not in xa.CMDLETS, f"{name} is emulated now: drop it from the list"
        assert where.split(":", 1)[0] in names[name], (name, names[name])
