"""Markdown of drift reports and plans, for a CI job summary or a pull-request comment.

Read only from their JSON (`drift --json`, `plan --json`). The output is deterministic: no timestamps,
and no paths but the spec path as the caller gives it. `|` is escaped in table cells.
"How to fix" reuses each kind's `powershell()` on a change made from the drift entry (a missing object is
a create, a changed one an update of the drifted attributes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from reconciler.render import powershell as ps

if TYPE_CHECKING:
    from reconciler.resources.base import ResourceKind

ACTIONS = {
    "create": "create",
    "update": "update in place",
    "replace": "replace",
    "delete": "destroy",
    "forget": "forget",
}
SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


# -- Markdown syntax ----------------------------------------------------------------------
def code(value: Any) -> str:
    """An inline code span of a value (strings as they are, anything else as JSON)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def plain(text: str) -> str:
    """Free text with Markdown's special characters escaped, on one line."""
    return SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def cell(text: str) -> str:
    """A table cell: `|` escaped even inside code spans (GitHub splits cells on it first)."""
    return re.sub(r"(?<!\\)\|", r"\\|", text)


def row(*cells: str) -> str:
    return "| " + " | ".join(cell(c) for c in cells) + " |"


def fenced(text: str, language: str) -> list[str]:
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`{3,}", text)), default=0) + 1)
    return [f"{fence}{language}", *text.splitlines(), fence]


# -- drift ------------------------------------------------------------------------------
def drift_markdown(report: dict[str, Any], kinds: Mapping[str, ResourceKind], spec_path: str) -> str:
    """Heading and verdict, a table of what drifted, and how to put it back (reconciler apply, or PowerShell)."""
    entries = report["entries"]
    lines = [f"## reconciler drift: tenant {code(report['tenant'])}", "", _verdict(report, spec_path)]
    if entries:
        server = report.get("target") == "exchange_server"
        lines += ["", *_drift_table(entries, kinds), "", *_how_to_fix(entries, kinds, spec_path, server)]
    return "\n".join(lines) + "\n"


def _verdict(report: Mapping[str, Any], spec_path: str) -> str:
    drifted, checked = len(report["entries"]), report["checked"]
    if not drifted:
        return f"**No drift:** the tenant matches {code(spec_path)} ({checked} objects checked)."
    return f"**{drifted} of {checked} objects drifted** from {code(spec_path)}."


def _drift_table(entries: Sequence[Mapping[str, Any]], kinds: Mapping[str, ResourceKind]) -> list[str]:
    lines = [row("Object", "What changed", "Why", "Who it affects"), row("---", "---", "---", "---")]
    for entry in entries:
        lines.append(row(code(entry["address"]), _what(entry), _why(entry), _affects(entry, kinds)))
    return lines


def _what(entry: Mapping[str, Any]) -> str:
    if entry["status"] == "missing":
        return "missing from the tenant"
    if entry["status"] == "wider":
        return "**(!) access wider than the spec**"
    if entry["status"] == "removed_from_spec":
        return "no longer in the spec"
    if entry["status"] == "not_in_state":
        return "not recorded in state"
    return "<br>".join(
        f"{code(a['name'])}: expected {code(a['expected'])}, actual {code(a['actual'])}" for a in entry["attributes"]
    )


def _why(entry: Mapping[str, Any]) -> str:
    if entry["status"] in ("missing", "wider", "removed_from_spec", "not_in_state"):
        return plain(entry["message"])
    outside = [a for a in entry["attributes"] if a["changed_outside"]]
    if not outside:
        return "spec edited since the last apply"
    applied = ", ".join(f"{code(a['name'])} = {code(a['recorded'])}" for a in outside)
    return f"changed outside reconciler (last applied: {applied})"


def _affects(entry: Mapping[str, Any], kinds: Mapping[str, ResourceKind]) -> str:
    """Who the entry concerns, in the kind's own words (its `affects` hook)."""
    name = str(entry["address"]).split(".", 1)[1]
    kind = kinds.get(entry["kind"])
    values = {**(entry.get("expected") or {}), **{a["name"]: a["expected"] for a in entry.get("attributes", [])}}
    parts = kind.affects(name, values) if kind is not None else [("", name)]
    return ", ".join(
        " ".join(p for p in (plain(words) if words else "", code(value) if value else "") if p)
        for words, value in parts
    )


def _how_to_fix(
    entries: Sequence[Mapping[str, Any]], kinds: Mapping[str, ResourceKind], spec_path: str, server: bool = False
) -> list[str]:
    changes = [fix_change(entry, kinds) for entry in entries if entry["status"] in ("missing", "changed")]
    if server:
        changes = [_by_hand_on_server(change, kinds) for change in changes]
    body = ps.script_body(changes, kinds)
    for entry in entries:
        if entry["status"] == "wider":
            body += [ps.comment(f"{entry['address']}: access wider than the spec"), *entry.get("fix", [])]
    used = ps.used_parameters(body)
    usage = [f"Save it as `fix.ps1` and run `./fix.ps1 {' '.join(ps.USAGE[v] for v in used)}`.", ""] if used else []
    only_wider = all(entry["status"] == "wider" for entry in entries)
    return [
        "### How to fix",
        "",
        "Apply removes access wider than the spec only where the spec owns it, as each entry says:"
        if only_wider
        else "Put the tenant back as the spec says:",
        "",
        *fenced(f"reconciler apply {spec_path}", "sh"),
        "",
        f"Or by hand, after review, {ps.session_hint(body, exchange_server=server)}:",
        "",
        *fenced("\n".join(body), "powershell"),
        "",
        *usage,
        "If the tenant is right and the spec is not, change the spec instead.",
    ]


def fix_change(entry: Mapping[str, Any], kinds: Mapping[str, ResourceKind]) -> dict[str, Any]:
    """A plan change that undoes a drift entry: missing -> create, changed -> update of the drifted attributes."""
    kind = kinds.get(entry["kind"])
    identity = kind.identity(str(entry["address"]).split(".", 1)[1]) if kind is not None else {}
    identity.update(entry.get("expected") or {})  # every attribute the spec sets (drift reports since 1.1)
    expected = {**identity, **{a["name"]: a["expected"] for a in entry["attributes"]}}
    actual = {**identity, **{a["name"]: a["actual"] for a in entry["attributes"]}}
    missing = entry["status"] == "missing"
    return {
        "address": entry["address"],
        "kind": entry["kind"],
        "action": "create" if missing else "update",
        "before": None if missing else actual,
        "after": expected,
        "changed": [a["name"] for a in entry["attributes"]],
        "sensitive": [],
        "reason": None,
        "id": entry.get("id"),
        "manual": [],
        "widens": kind.widens(None if missing else actual, expected) if kind else None,
        "automated": True,
    }


def _by_hand_on_server(change: dict[str, Any], kinds: Mapping[str, ResourceKind]) -> dict[str, Any]:
    """On Exchange Server a kind without an API is fixed by its backend's own (idempotent) Exchange Management Shell
    commands, as its plan would print them, not by Exchange Online cmdlets."""
    from reconciler.engine.plan import Change
    from reconciler.spec.models import Target

    kind = kinds.get(change["kind"])
    backend = kind.backend(Target.EXCHANGE_SERVER) if kind is not None else None
    if backend is None or backend.automated:
        return change
    return {**change, "manual": backend.manual(Change.model_validate(change)), "automated": False}


def error_markdown(spec_path: str, summary: str, detail: str) -> str:
    """A drift check that could not finish: said as plainly as a drift report (exit 1; never drift)."""
    lines = [
        f"## reconciler drift: {code(spec_path)} could not be checked",
        "",
        f"**Error:** {plain(summary)}",
    ]
    if detail:
        lines += ["", *fenced(detail, "text")]
    lines += ["", "Nothing was reported as drift: a tenant that cannot be read is an error, never drift."]
    return "\n".join(lines) + "\n"


# -- several tenants --------------------------------------------------------------------
FLEET_STATUS = {"in_sync": "in sync", "drifted": "**drifted**", "error": "**could not be read**"}


def fleet_markdown(fleet: dict[str, Any], kinds: Mapping[str, ResourceKind]) -> str:
    """One table for many tenants, then each drifted tenant's own report (headings one level down)."""
    tenants = fleet["tenants"]
    drifted = [t for t in tenants if t["status"] == "drifted"]
    failed = [t for t in tenants if t["status"] == "error"]
    lines = [
        f"## reconciler drift: {len(tenants)} tenants",
        "",
        f"**{len(drifted)} drifted, {len(failed)} could not be read, "
        f"{len(tenants) - len(drifted) - len(failed)} in sync.**",
        "",
        row("Spec", "Tenant", "Status", "Details"),
        row("---", "---", "---", "---"),
    ]
    for tenant in tenants:
        report = tenant.get("report") or {}
        detail = plain(tenant["error"]) if tenant["status"] == "error" else f"{len(report.get('entries', []))} of "
        if tenant["status"] != "error":
            detail += f"{report.get('checked', 0)} objects differ"
        lines.append(
            row(code(tenant["spec"]), code(tenant.get("tenant") or "?"), FLEET_STATUS[tenant["status"]], detail)
        )
    for tenant in drifted:
        report = drift_markdown(tenant["report"], kinds, tenant["spec"])
        lines += ["", *("#" + line if line.startswith("#") else line for line in report.splitlines())]
    return "\n".join(lines) + "\n"


# -- plan -------------------------------------------------------------------------------
def plan_markdown(plan: dict[str, Any], kinds: Mapping[str, ResourceKind], spec_path: str) -> str:
    """The summary, a table of the changes, warnings, and the same changes as PowerShell (collapsed)."""
    changes = [c for c in plan["changes"] if c["action"] != "no-op"]
    lines = [f"## reconciler plan: tenant {code(plan['tenant'])}", ""]
    if not changes:
        lines.append(f"**No changes.** The tenant matches {code(spec_path)}.")
    else:
        lines += [f"**{ps.summary_text(plan['summary'])}** ({code(spec_path)})", "", *_plan_table(changes)]
    lines += _wider_lines(plan.get("wider_access") or [])
    lines += [f"> **Warning:** {plain(w)}" for w in plan.get("warnings", [])]
    if changes:
        lines += ["", f"Apply with `reconciler apply {spec_path}`.", "", *_powershell_details(plan, kinds, spec_path)]
    return "\n".join(lines) + "\n"


def _wider_lines(findings: Sequence[Mapping[str, Any]]) -> list[str]:
    """Objects that give the integration access beyond the spec, each with what removes it."""
    if not findings:
        return []
    lines = ["", f"**(!) {len(findings)} object(s) give access wider than the spec:**", ""]
    for finding in findings:
        done = "the plan removes it (the spec owns this access)" if finding.get("removed") else "left as it is"
        lines.append(f"- {code(finding['address'])}: {plain(finding['message'])}; {done}")
    fix = [line for finding in findings if not finding.get("removed") for line in finding.get("fix") or []]
    if fix:
        lines += [
            "",
            "Remove it by hand (each finding says whether a spec setting lets apply remove it):",
            "",
            *fenced("\n".join(fix), "powershell"),
        ]
    return lines


def _plan_table(changes: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = [row("", "Object", "Action", "Details"), row("---", "---", "---", "---")]
    for change in changes:
        action = change["action"]
        symbol = code(ps.SYMBOLS.get(action, action))
        lines.append(row(symbol, code(change["address"]), ACTIONS.get(action, action), _details(change)))
    return lines


def _details(change: Mapping[str, Any]) -> str:
    before, after = change.get("before") or {}, change.get("after") or {}
    if change["action"] in ("update", "replace"):
        parts = [f"{code(n)}: {code(before.get(n))} → {code(after.get(n))}" for n in change.get("changed") or []]
    elif change["action"] == "create":
        parts = [f"{code(n)} = {code(v)}" for n, v in after.items()]
    else:
        parts = []
    if change.get("widens"):
        parts.insert(0, f"**(!) widens access:** {plain(change['widens'])}")
    if change.get("reason"):
        parts.append(plain(f"({change['reason']})"))
    if change.get("manual"):
        parts.append("needs Exchange Management Shell commands run by hand")
    return "<br>".join(parts)


def _powershell_details(plan: dict[str, Any], kinds: Mapping[str, ResourceKind], spec_path: str) -> list[str]:
    script = ps.plan_script({**plan, "spec": {**(plan.get("spec") or {}), "path": spec_path}}, kinds)
    return [
        "<details><summary>The same changes as PowerShell</summary>",
        "",
        *fenced(script, "powershell"),
        "</details>",
    ]
