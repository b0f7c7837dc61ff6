"""Human output of plans, applies and drift reports, read only from their JSON form.

Rich markup gives colour on a terminal (+ green, ~ yellow, - red); piped output is plain text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from rich.control import strip_control_codes
from rich.markup import escape

COLOURS = {"create": "green", "update": "yellow", "replace": "magenta", "delete": "red", "forget": "cyan"}
VERBS = {
    "create": "will be created",
    "update": "will be updated in place",
    "replace": "must be replaced",
    "delete": "will be destroyed",
    "forget": "will no longer be managed by reconciler",
}
SYMBOLS = {"create": "+", "update": "~", "replace": "-/+", "delete": "-", "forget": "."}


def value(v: Any) -> str:
    """A value as rich markup."""
    return escape(_json(v))


def _json(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, str) and v.isprintable() and '"' not in v and "\\" not in v:  # what json.dumps writes, quicker
        return v if v == "(sensitive)" else f'"{v}"'
    return json.dumps(v, ensure_ascii=False)


class Paint(Protocol):
    """Styles a piece of text: as rich markup (MARKUP) or as the text itself with a terminal's codes (`painter`)."""

    def __call__(self, text: str, style: str = "", /) -> str: ...


def _markup(text: str, style: str = "", /) -> str:
    return f"[{style}]{escape(text)}[/]" if style else escape(text)


MARKUP: Paint = _markup


def painter(color_system: str | None, no_color: bool) -> Paint:
    """What rich would print for `[style]text[/]` on a console with this colour system (None: not a terminal, so
    plain text) and `no_color` (colours dropped, bold kept), without parsing markup line by line."""
    from rich.color import ColorSystem
    from rich.style import Style

    systems = {
        "standard": ColorSystem.STANDARD,
        "256": ColorSystem.EIGHT_BIT,
        "truecolor": ColorSystem.TRUECOLOR,
        "windows": ColorSystem.WINDOWS,
    }
    system = systems.get(color_system or "")
    codes: dict[str, tuple[str, str]] = {}

    def paint(text: str, style: str = "", /) -> str:
        if not style or system is None:
            return text
        if style not in codes:
            parsed = Style.parse(style)
            shown = parsed.without_color if no_color else parsed
            before, _, after = shown.render("\0", color_system=system).partition("\0")
            codes[style] = (before, after)
        before, after = codes[style]
        return f"{before}{text}{after}"

    return paint


@dataclass(frozen=True)
class PlanText:
    """A human plan in three parts: rich markup before and after the changes, and the changes themselves, which
    are printed as plain lines (`change_text`): a 10,000-change plan is 80,000 lines, too many for rich."""

    head: list[str]
    changes: list[dict[str, Any]]
    tail: list[str]


def no_changes_line(wider: bool) -> str:
    """A plan with nothing to do: the tenant matches the spec, unless access wider than the spec was found."""
    if wider:
        return "[bold green]No changes.[/] Apart from the wider access above, the tenant matches the spec."
    return "[bold green]No changes.[/] The tenant matches the spec."


def plan_text(plan: dict[str, Any]) -> PlanText:
    changes = [c for c in plan["changes"] if c["action"] != "no-op"]
    warnings = [f"[bold yellow]Warning:[/] {escape(w)}" for w in plan.get("warnings", [])]
    adopt = adopt_lines(plan)
    wider = wider_lines(plan.get("wider_access") or [])
    if not changes:
        return PlanText([], [], [*wider, *adopt, *warnings, no_changes_line(bool(wider))])
    head = ["reconciler will perform the following actions:", ""]
    return PlanText(head, changes, [*wider, *adopt, *warnings, summary_line(plan["summary"])])


def plan_lines(plan: dict[str, Any]) -> list[str]:
    """The whole plan as rich markup lines (what `plan_text` prints, the changes included)."""
    text = plan_text(plan)
    lines = list(text.head)
    for change in text.changes:
        lines += [*change_lines(change), ""]
    return [*lines, *text.tail]


def change_lines(change: dict[str, Any]) -> list[str]:
    """One change as rich markup lines."""
    return _change_lines(change, MARKUP)


def change_text(change: dict[str, Any], paint: Paint) -> str:
    """One change's lines and the blank line after it, painted (plain text, or with a terminal's style codes); the
    control codes rich strips (bell, backspace, ...) are stripped too."""
    return strip_control_codes("\n".join(_change_lines(change, paint))) + "\n\n"


def wider_lines(findings: list[dict[str, Any]]) -> list[str]:
    """(!) Objects that give the integration access beyond the spec, and the command that removes each."""
    if not findings:
        return []
    lines = [f"[bold red](!) {len(findings)} object(s) give access wider than the spec:[/]"]
    for finding in findings:
        lines.append(f"  [bold red](!)[/] [bold]{escape(finding['address'])}[/]: {escape(finding['message'])}")
        if finding.get("removed"):
            lines.append(
                "      the spec owns this access (access.exclusive, or access.remove_access_policies for an access "
                "policy): apply removes it (above)"
            )
        else:
            lines.append("      left as it is (the spec does not own this access); to remove it by hand:")
            lines += [f"        {escape(command)}" for command in finding.get("fix") or []]
    return [*lines, ""]


ADOPT_SHOWN = 10


def adopt_lines(plan: dict[str, Any]) -> list[str]:
    """Spec objects that already exist in the tenant but are not in state, with the command to import each; apart,
    those an interrupted apply wrote without recording them (adopted as made by reconciler)."""
    made = [c for c in plan["changes"] if c.get("interrupted")]
    found = [c for c in plan["changes"] if c.get("import_id") and not c.get("interrupted")]
    return [*_interrupted_lines(made), *_import_lines(plan, found)]


def _interrupted_lines(made: list[dict[str, Any]]) -> list[str]:
    if not made:
        return []
    lines = [
        f"[bold]{len(made)} object(s) were written by an apply that was interrupted before it recorded them.[/] "
        "Apply records them as made by reconciler (removing one from the spec later deletes it):"
    ]
    lines += [f"  {escape(change['address'])}" for change in made[:ADOPT_SHOWN]]
    if len(made) > ADOPT_SHOWN:
        lines.append(f"  ... and {len(made) - ADOPT_SHOWN} more (`plan --json`: changes[].interrupted)")
    return [*lines, ""]


def _import_lines(plan: dict[str, Any], found: list[dict[str, Any]]) -> list[str]:
    if not found:
        return []
    spec = plan["spec"]["path"]
    lines = [
        f"[bold]{len(found)} object(s) the spec asks for already exist in the tenant but are not in state.[/] "
        "Apply adopts them (no duplicates are made); to adopt one now without applying anything:"
    ]
    for change in found[:ADOPT_SHOWN]:
        lines.append(
            f"  reconciler import --spec {_quoted(spec)} {_quoted(change['address'])} {_quoted(change['import_id'])}"
        )
    if len(found) > ADOPT_SHOWN:
        lines.append(f"  ... and {len(found) - ADOPT_SHOWN} more (`plan --json`: changes[].import_id)")
    return [*lines, ""]


def _quoted(text: str) -> str:
    """A shell word: as is when safe, else in single quotes."""
    import shlex

    return escape(shlex.quote(text))


def summary_line(summary: dict[str, int]) -> str:
    text = f"[bold]Plan:[/] {summary['add']} to add, {summary['change']} to change, {summary['destroy']} to destroy."
    if summary.get("forget"):
        text += f" {summary['forget']} to stop managing."
    if summary.get("widen"):
        count = summary["widen"]
        widens = "change widens" if count == 1 else "changes widen"
        text += f" [bold red]{count} {widens} access to mailboxes (marked (!) above).[/]"
    if summary.get("manual"):
        text += f" {summary['manual']} need commands run by hand (shown above)."
    return text


def _change_lines(change: dict[str, Any], paint: Paint) -> list[str]:
    action = change["action"]
    colour, symbol = COLOURS[action], SYMBOLS[action]
    kind, name = change["address"].split(".", 1)
    lines = [f"  {paint('# ' + change['address'], 'bold')}{paint(' ' + VERBS[action])}"]
    if change.get("widens"):
        lines.append(f"  {paint('# (!) widens access: ' + change['widens'], 'bold red')}")
    if change.get("reason"):
        lines.append(paint(f"  # ({change['reason']})"))
    head = f' {kind} "{name}" {{'
    lines.append(f"  {paint(symbol, colour)}{paint(head)}")
    lines += _attribute_lines(change, paint)
    lines.append("    }")
    return lines + manual_lines(change, paint)


def manual_lines(change: dict[str, Any], paint: Paint | None = None) -> list[str]:
    """The Exchange Management Shell commands an admin must run for this change (rich markup unless `paint`)."""
    if not change.get("manual"):
        return []
    paint = paint or MARKUP
    how = "apply cannot do this" if not change.get("automated", True) else "apply does the rest"
    head = f"    {paint('run in the Exchange Management Shell', 'bold')} ({how}; the next plan confirms it):"
    return [head, *(paint(f"      {command}") for command in change["manual"])]


def _attribute_lines(change: dict[str, Any], paint: Paint) -> list[str]:
    action = change["action"]
    before, after = change.get("before") or {}, change.get("after") or {}
    names = sorted(set(before) | set(after))
    width = max((len(n) for n in names), default=0)
    changed = change.get("changed", [])
    lines = []
    for name in names:
        label = name.ljust(width)
        if action == "create":
            lines.append(f"      {paint('+', 'green')}{paint(f' {label} = {_json(after[name])}')}")
        elif action == "delete":
            lines.append(f"      {paint('-', 'red')}{paint(f' {label} = {_json(before[name])}')}")
        elif action == "forget":
            lines.append(paint(f"        {label} = {_json(before[name])}"))
        elif name in changed:
            text = f" {label} = {_json(before.get(name))} -> {_json(after.get(name))}"
            lines.append(f"      {paint('~', 'yellow')}{paint(text)}")
        else:
            lines.append(paint(f"        {label} = {_json(after.get(name))}"))
    return lines


DRIFT_SYMBOLS = {"missing": "+", "wider": "(!)", "removed_from_spec": "-", "not_in_state": "."}


def drift_lines(report: dict[str, Any], paint: Paint = MARKUP) -> list[str]:
    """A drift report's lines, as rich markup or painted (`painter`: a drift of 10,000 objects is streamed)."""
    entries = report["entries"]
    if not entries:
        checked = f" The tenant matches the spec ({report['checked']} objects checked)."
        return [paint("No drift.", "bold green") + paint(checked)]
    differ = f" {len(entries)} of {report['checked']} objects differ from the spec."
    lines = [paint("Drift detected:", "bold red") + paint(differ), ""]
    for entry in entries:
        symbol = DRIFT_SYMBOLS.get(entry["status"], "~")
        lines.append(f"  {paint(symbol, 'yellow')} {paint(entry['address'], 'bold')}{paint(': ' + entry['message'])}")
        lines += [paint(f"      fix: {command}") for command in entry.get("fix") or []]
        for attr in entry["attributes"]:
            line = f"      {attr['name']}: spec says {_json(attr['expected'])}, tenant has {_json(attr['actual'])}"
            if attr["changed_outside"]:
                line += f" (last applied {_json(attr['recorded'])})"
            lines.append(paint(line))
    lines += [
        "",
        paint("Run `reconciler apply` to restore the spec, or change the spec to accept the tenant as it is."),
    ]
    if any(entry["status"] == "wider" for entry in entries):
        lines.append(
            paint(
                "Access wider than the spec (!) is removed by apply only where the spec owns it, as each entry says; "
                "otherwise run its fix."
            )
        )
    return lines


FLEET_STATUS = {"in_sync": ("in sync", "green"), "drifted": ("DRIFTED", "bold red"), "error": ("ERROR", "bold red")}


def fleet_lines(fleet: dict[str, Any], paint: Paint = MARKUP) -> list[str]:
    """Several tenants: one line each, then the drift report of each drifted one."""
    tenants = fleet["tenants"]
    counts = {s: sum(1 for t in tenants if t["status"] == s) for s in FLEET_STATUS}
    lines = [
        paint(f"Drift across {len(tenants)} tenants:", "bold")
        + paint(f" {counts['drifted']} drifted, {counts['error']} could not be read, {counts['in_sync']} in sync."),
        "",
    ]
    for tenant in tenants:
        status = FLEET_STATUS[tenant["status"]]
        lines.append(f"{paint('  ' + tenant['spec'] + ': ')}{paint(*status)}{paint(' ' + _fleet_detail(tenant))}")
    for tenant in (t for t in tenants if t["status"] == "drifted"):
        lines += ["", paint(f"== {tenant['spec']} (tenant {tenant['tenant']}) ==", "bold")]
        lines += drift_lines(tenant["report"], paint)
    return lines


def _fleet_detail(tenant: dict[str, Any]) -> str:
    if tenant["status"] == "error":
        return "- " + " ".join(str(tenant["error"]).split())
    report = tenant["report"]
    if tenant["status"] == "drifted":
        return f"({len(report['entries'])} of {report['checked']} objects differ; tenant {tenant['tenant']})"
    return f"({report['checked']} objects checked; tenant {tenant['tenant']})"


def verify_lines(report: dict[str, Any]) -> list[str]:
    lines = []
    for check in report["checks"]:
        mark = "[green]PASS[/]" if check["passed"] else "[red]FAIL[/]"
        target = f" {check['mailbox']}" if check["mailbox"] else ""
        lines.append(f"{mark} {escape(check['name'])}{target} (expected: {check['expected']})")
        lines.append(f"     {escape(check['reason'])}")
    verdict = "[bold green]All checks passed.[/]" if report["passed"] else "[bold red]Verification failed.[/]"
    return [*lines, verdict]


def state_lines(state: dict[str, Any]) -> list[str]:
    lines = [f"# state serial {state['serial']}, lineage {state['lineage']}, tenant {state.get('tenant')}"]
    for record in state["resources"]:
        created = "created by reconciler" if record["created_by_reconciler"] else "adopted"
        lines.append(f"{record['address']}  id={record.get('id')}  ({created})")
        for name, v in sorted(record["attributes"].items()):
            lines.append(f"    {name} = {value(v)}")
    return lines


PERMISSION_GROUPS = {
    "Microsoft Graph application permission": "Microsoft Graph application permissions (admin consent)",
    "Office 365 Exchange Online application permission": "Office 365 Exchange Online application permission",
    "Exchange Online role": "Exchange Online roles (assigned to the app's Exchange service principal)",
    "Exchange Server role": "Exchange Server roles",
    "Microsoft Entra role": "Microsoft Entra roles",
}


def permission_lines(report: dict[str, Any]) -> list[str]:
    """`reconciler permissions`: what reconciler's own identity needs, read-only first, then what apply adds, then
    the commands that grant them and the caveats."""
    if report["target"] == "exchange_server":
        target, who = "Exchange Server", f"EWS account: {report.get('ews_account') or 'exchange_server.username'}"
    else:
        target, who = "Exchange Online", f"reconciler's app: {report.get('app_id') or 'the identity of tenant.auth'}"
    lines = [
        f"[bold]Permissions for {escape(report['spec'])}[/] ({target}, tenant {escape(report['tenant'])}; "
        f"{escape(who)})",
        "",
    ]
    lines += _permission_section(
        "Read-only", "enough for plan, drift, import, export and verify; least privileged first", report["read"]
    )
    lines += _permission_section("Apply additionally needs", "with everything read-only above", report["apply"])
    for title, commands in (
        ("Grant the read-only set", report["grant_read"]),
        ("Grant what apply adds", report["grant_apply"]),
    ):
        if commands:
            lines += [f"[bold]{title}:[/]", *(f"  {escape(c)}" for c in commands), ""]
    if report["notes"]:
        lines += ["[bold]Notes:[/]", *(f"  - {escape(n)}" for n in report["notes"])]
    return lines


def _permission_section(title: str, subtitle: str, entries: list[dict[str, Any]]) -> list[str]:
    lines = [f"[bold]{title}[/] ({subtitle}):"]
    if not entries:
        return [*lines, "  nothing", ""]
    group = None
    for entry in entries:
        if (entry["api"], entry["holder"]) != group:
            group = (entry["api"], entry["holder"])
            lines.append(
                f"  {escape(PERMISSION_GROUPS.get(entry['api'], entry['api']))}, for {escape(entry['holder'])}:"
            )
        name = f"[green]{escape(entry['name'])}[/]"
        if entry.get("replaces"):
            name += f" (replaces {escape(entry['replaces'])})"
        if "plan" not in entry["commands"] and "apply" not in entry["commands"]:
            name += f" (only for {', '.join(entry['commands'])})"
        lines.append(f"    {name}")
        lines.append(f"        {escape(entry['why'])}")
        lines += [f"        [yellow]note:[/] {escape(note)}" for note in entry.get("notes", [])]
        lines.append(f"        {escape(entry['doc'])}")
    return [*lines, ""]
