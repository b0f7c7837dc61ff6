"""Every PowerShell and Exchange Management Shell script reconciler emits, parsed by a real PowerShell grammar.

tree-sitter-powershell (https://github.com/airbus-cert/tree-sitter-powershell) parses:
  - `plan --format powershell` for every spec under specs/, against a fresh simulated tenant;
  - the `manual` Exchange Management Shell commands of an Exchange Server plan, each line alone (an admin
    pastes one line at a time) and as they stand in the human plan;
  - the PowerShell blocks of `plan --format markdown` and `drift --format markdown` (drift fixes, wider access);
  - `reconciler permissions` grant commands, for every spec;
  - update, replace and delete scripts (a real tenant moved after apply, and each kind's `powershell()` hook);
  - names from an injection corpus (quotes of every kind, `$()`, backticks, `;`, `|`, `&`, `@{}`, `-replace`,
    comment markers) through every kind's `powershell()` and Exchange Server `manual()` hook, drift fixes, and
    two specs end to end: each such name must come out as exactly one single-quoted string literal of a command
    (never two in one), whose value, read by PowerShell's quoting rules, is the name.

Every tree must hold no ERROR or MISSING node, save one gap of the grammar (GAP below). On top of the grammar:
every command is a documented cmdlet, every variable one the scripts define or PowerShell gives, every bare word
an enum value. So a name that escaped its quotes would show up as a stray command, variable or word.

The grammar knows only ' as a single quotation mark, where PowerShell also ends a verbatim string at U+2018
U+2019 U+201A U+201B (about_Quoting_Rules). So each single-quoted literal the grammar finds is read again with
PowerShell's rules (tests/unit/test_syntax.py's read_verbatim), which must end exactly where the grammar's does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import tree_sitter_powershell
from tree_sitter import Language, Node, Parser

from reconciler.engine.plan import Action, Change
from reconciler.render.markdown import drift_markdown
from reconciler.render.powershell import plan_script
from reconciler.resources import KINDS
from reconciler.spec.models import Target
from reconciler.syntax import PS_SINGLE_QUOTES, opath_equals, ps_single_quoted
from tests.conftest import E3, PASSWORD, REPO, SVC, Tenant, make_tenant
from tests.unit.test_markdown import seeded_drift
from tests.unit.test_powershell import TABLE, apply, edit
from tests.unit.test_syntax import SPECIAL, read_opath_text, read_verbatim

PARSER = Parser(Language(tree_sitter_powershell.language()))
SPECS = sorted(path.stem for path in (REPO / "specs").glob("*.yaml"))
ENV = {"EXCHANGE_ADMIN_PASSWORD": PASSWORD}  # specs/exchange-server.yaml's shell admin

# What the scripts may name besides the documented cmdlets of tests/data/powershell_cmdlets.json: the Graph consent
# commands and the role group of `reconciler permissions`, and Where-Object.
COMMANDS = set(TABLE) | {"Connect-MgGraph", "New-MgServicePrincipalAppRoleAssignment", "New-RoleGroup", "Where-Object"}
# Variables the scripts set or take as parameters, and PowerShell's own.
VARIABLES = {
    "$ServiceAccountPassword",
    "$ServiceAccountUpn",
    "$ErrorActionPreference",
    "$DistGroupDN",
    "$Skus",
    "$ServicePrincipal",
    "$EntraApp",
    "$EwsAllowedAppIDs",
    "$App",
    "$Api",
    "$Name",
    "$_",
    "$true",
    "$false",
    "$null",
}
# A bare word in argument mode: an enum value (Editor, RestrictAccess) or a property name (Where-Object Value).
BARE = re.compile(r"[A-Za-z][A-Za-z0-9]*")

# Names that try to get out of their quotes: each quotation mark PowerShell knows (doubled in a verbatim string),
# expansion, escapes, statement and pipeline separators, hashtables, comments, an OPATH -replace.
NAMES = [
    "O'Brien",
    "trailing '",
    "'",
    "''",
    "it\u2019s",
    "\u2018curly\u2019 \u201alow\u201b",
    "\u201cdouble\u201d \u201elow",
    'say "hi"',
    "$(Stop-Computer) `t ${x} $env:PATH $$",
    "x'; Stop-Computer; '",
    "x\u2019; Stop-Computer; \u2018",
    "a; b | c & d @{e=1} (f) [g]",
    '-replace "\'","\'\'"',
    "#c <# x #>",
    "back\\",
    "x,y -Confirm:$false",
    "".join(c for c in SPECIAL if c.isprintable()),  # test_syntax.py's special characters, less the line breaks
]
GUID = "10bb7e5b-b80b-4e6e-a209-f78581dbc79e"


# -- the grammar --------------------------------------------------------------------------------
def nodes(root: Node) -> Iterator[Node]:
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


def text(node: Node) -> str:
    return (node.text or b"").decode("utf-8")


def in_bare_word_list(node: Node) -> bool:
    """GAP: the grammar has no rule for a list of bare words in argument mode (`-SharingPermissionFlags
    Delegate,CanViewPrivateItems`, as Microsoft's pages write it; PowerShell reads an array). It reads the first
    word, inserts a MISSING argument separator and takes `,CanViewPrivateItems` as the next word. Only that shape
    is allowed, and only for bare words: anything else in such a list is an error."""
    sep = node.parent
    if not (node.is_missing and sep is not None and sep.type == "command_argument_sep"):
        return False
    before, after = sep.prev_sibling, sep.next_sibling
    return (
        before is not None
        and after is not None
        and before.type == after.type == "generic_token"
        and BARE.fullmatch(text(before).removeprefix(",")) is not None
        and text(after).startswith(",")
        and BARE.fullmatch(text(after)[1:]) is not None
    )


def problems(root: Node) -> list[str]:
    """What the grammar could not read, and whatever looks like a name out of its quotes."""
    found = []
    for node in nodes(root):
        where = f"line {node.start_point[0] + 1} column {node.start_point[1] + 1}"
        if node.is_error or (node.is_missing and not in_bare_word_list(node)):
            what = f"MISSING {node.type!r}" if node.is_missing else f"ERROR at {text(node)[:60]!r}"
            found.append(f"{where}: {what}")
        elif node.type == "command_name" and text(node) not in COMMANDS:
            found.append(f"{where}: command {text(node)!r} is not one reconciler writes")
        elif node.type in ("variable", "braced_variable") and text(node) not in VARIABLES:
            found.append(f"{where}: variable {text(node)!r} is not one reconciler writes")
        elif node.type == "generic_token" and not BARE.fullmatch(text(node).removeprefix(",")):
            found.append(f"{where}: bare word {text(node)!r}")
        elif node.type == "verbatim_string_characters":
            value(node)
    return found


def value(literal: Node) -> str:
    """A single-quoted literal's value as PowerShell reads it; it must end where the grammar's node ends."""
    source = text(literal)
    found, rest = read_verbatim(source)
    assert rest == "", f"PowerShell ends the literal {source!r} early, before {rest!r}"
    return found


def parse(script: str) -> Node:
    """The script's syntax tree; fails on any problem (above)."""
    assert script.strip(), "an empty script"
    root = PARSER.parse(script.encode("utf-8")).root_node
    found = problems(root)
    assert not found, "\n".join(found) + "\n\n" + script
    return root


def literals(root: Node) -> list[str]:
    """The value of every single-quoted string literal in the tree, in order."""
    return [value(n) for n in nodes(root) if n.type == "verbatim_string_characters"]


def command_literals(root: Node) -> list[list[str]]:
    """The single-quoted literals of each command node, each literal counted for its nearest command (a guard
    `if (-not (Get-X -Identity 'n')) { New-X -Name 'n' }` is two commands, each naming 'n' once)."""
    found: dict[int, list[str]] = {}
    for node in nodes(root):
        if node.type != "verbatim_string_characters":
            continue
        owner = node.parent
        while owner is not None and owner.type != "command":
            owner = owner.parent
        found.setdefault(owner.id if owner is not None else -1, []).append(value(node))
    return list(found.values())


def commands(script: str) -> list[str]:
    """The script's statement lines: not blank, not comments, not the param block."""
    lines, in_param = [], False
    for line in script.splitlines():
        stripped = line.strip()
        in_param = in_param or stripped == "param("
        if in_param:
            in_param = stripped != ")"
        elif stripped and not stripped.startswith("#"):
            lines.append(stripped)
    return lines


def assert_script(script: str) -> list[str]:
    """The whole script parses, and so does each of its commands alone; the literals of the whole script."""
    root = parse(script)
    for line in commands(script):
        parse(line)
    return literals(root)


def assert_names(script: str, names: Sequence[str]) -> None:
    """The script parses; each name is exactly one single-quoted literal in a command that writes it, and never two
    in one command. (A name may also sit inside a longer literal: a folder 'mailbox:\\Calendar', a filter.)"""
    assert_script(script)
    per_command = [values for line in commands(script) for values in command_literals(parse(line))]
    for name in names:
        counts = [values.count(name) for values in per_command]
        assert max(counts, default=0) == 1, f"{name!r} is not one literal of a command in:\n{script}"


def powershell_blocks(markdown: str) -> list[str]:
    return [m.group(2) for m in re.finditer(r"^(`{3,})powershell\n(.*?)\n\1$", markdown, re.S | re.M)]


# -- the checker itself ---------------------------------------------------------------------------
def test_the_checks_see_a_name_out_of_its_quotes() -> None:
    clean = "Set-ManagementScope -Identity 'O''Brien' -RecipientRestrictionFilter 'x' -Confirm:$false"
    assert literals(parse(clean)) == ["O'Brien", "x"]
    tree = PARSER.parse
    assert problems(tree(b"Set-ManagementScope -Identity 'O'Brien'").root_node)  # an undoubled quote
    assert problems(tree(b"Set-ManagementScope -Identity 'x'; Stop-Computer; ''").root_node)  # a stray command
    assert problems(tree(b'Set-ManagementScope -Identity "$(Stop-Computer)"').root_node)
    assert problems(tree(b'Set-ManagementScope -Identity "$HOME"').root_node)  # a stray variable
    assert problems(tree(b"Set-ManagementScope -Identity O-Brien").root_node)  # a bare name
    with pytest.raises(AssertionError, match="ends the literal"):  # PowerShell ends it at U+2019, the grammar not
        parse("Set-ManagementScope -Identity 'it\u2019s'")
    assert literals(parse("Set-ManagementScope -Identity 'it\u2019\u2019s'")) == ["it\u2019s"]


def test_the_one_grammar_gap_is_a_list_of_bare_words() -> None:
    """GAP: the grammar inserts a MISSING separator into `a,b`; allowed there and nowhere else. If a release of
    the grammar reads such lists, this fails: then drop in_bare_word_list."""
    root = PARSER.parse(b"Set-MailboxFolderPermission -SharingPermissionFlags Delegate,CanViewPrivateItems").root_node
    assert [n.type for n in nodes(root) if n.is_missing] == [" "]
    assert not problems(root)
    for broken in (b"Set-ManagementScope -Identity Delegate,'O B'", b"Set-ManagementScope -Identity a,$x"):
        assert problems(PARSER.parse(broken).root_node)


# -- every spec's plan ------------------------------------------------------------------------------
def fresh(tmp_path: Path, spec: str) -> Tenant:
    """A fresh simulated tenant for the spec: Exchange Server for specs/exchange-server.yaml."""
    text = (REPO / "specs" / f"{spec}.yaml").read_text("utf-8")
    if "target: exchange_server" in text:
        return make_tenant(tmp_path, "simulated-exchange-server.json", flavor="exchange_server", ad_password=PASSWORD)
    return make_tenant(tmp_path)


def run(tenant: Tenant, *args: str, codes: tuple[int, ...] = (0,)) -> str:
    result = tenant.cli(*args, env=ENV)
    assert result.exit_code in codes, result.output
    return result.stdout


def manual_in_human_plan(output: str) -> list[str]:
    """The commands the human plan prints under "run in the Exchange Management Shell"."""
    found, inside = [], False
    for line in output.splitlines():
        if "run in the Exchange Management Shell" in line:
            inside = True
        elif inside and line.startswith("      "):
            found.append(line.strip())
        else:
            inside = False
    return found


def test_the_specs_are_all_here() -> None:
    assert {"example", "exchange-server", "free_busy", "full", "restricted"} <= set(SPECS)


@pytest.mark.parametrize("name", SPECS)
def test_every_spec_plans_to_a_script_the_grammar_reads(tmp_path: Path, name: str) -> None:
    tenant = fresh(tmp_path, name)
    spec = tenant.spec_file(name)
    assert_script(run(tenant, "plan", spec, "--format", "powershell"))
    for block in powershell_blocks(run(tenant, "plan", spec, "--format", "markdown")):
        assert_script(block)
    data = json.loads(run(tenant, "plan", spec, "--json"))
    manual = [line for change in data["changes"] for line in change["manual"]]
    if data["target"] == "exchange_server":
        assert manual, "an Exchange Server plan has Exchange Management Shell commands"
        assert manual_in_human_plan(run(tenant, "plan", spec)) == manual
    for line in manual:
        parse(line)
    if manual:
        assert_script("\n".join(manual))
    tenant.assert_no_secret_on_disk()


def grants_in_output(output: str) -> list[str]:
    """The lines printed under "Grant the read-only set:" and "Grant what apply adds:"."""
    found, inside = [], False
    for line in output.splitlines():
        if line.startswith("Grant "):
            inside = True
        elif inside and line.startswith("  "):
            found.append(line.strip())
        else:
            inside = False
    return found


@pytest.mark.parametrize("name", SPECS)
def test_every_spec_permissions_grant_commands(tmp_path: Path, name: str) -> None:
    tenant = fresh(tmp_path, name)
    data = json.loads(run(tenant, "permissions", tenant.spec_file(name), "--json"))
    assert data["grant_read"], "something grants the read-only set"
    for key in ("grant_read", "grant_apply"):
        if data[key]:
            assert_script("\n".join(data[key]))
    assert (
        grants_in_output(run(tenant, "permissions", tenant.spec_file(name))) == data["grant_read"] + data["grant_apply"]
    )


# -- updates, replacements, deletions, drift ----------------------------------------------------
def test_update_replace_and_delete_scripts(tenant: Tenant) -> None:
    spec = tenant.spec_file("example")
    apply(tenant, spec)
    tenant.graph("POST", f"/users/{SVC}/assignLicense", {"addLicenses": [{"skuId": E3}], "removeLicenses": []})
    assert_script(run(tenant, "plan", spec, "--format", "powershell"))
    edit(spec, "scope_group: cronofy-scope@contoso.com", "scope_group: cronofy-access@contoso.com")
    edit(spec, "display_name: Cronofy Service Account", "display_name: Cronofy O'Brien")
    edit(spec, "room_lists:", "room_lists: []  #")
    edit(spec, "  - name: Meeting Rooms\n    rooms: [Board room]\n", "")
    edit(spec, "  account_enabled: true", "  account_enabled: false")
    edit(str(Path(spec).parent / "cronofy.csv"), "alice\n", "")
    script = run(tenant, "plan", spec, "--format", "powershell")
    for cmdlet in (
        "Update-MgUser",
        "Set-ManagementScope",
        "Remove-DistributionGroup",
        "Remove-MailboxFolderPermission",
    ):
        assert cmdlet in script
    assert_names(script, ["Cronofy O'Brien"])
    for block in powershell_blocks(run(tenant, "plan", spec, "--format", "markdown")):
        assert_script(block)

    apply(tenant, spec)
    edit(spec, "  level: restricted", "  level: free_busy")  # the role is create-only: the assignment is replaced
    script = run(tenant, "plan", spec, "--format", "powershell")
    assert "# -/+ role_assignment.CronofyImpersonationAssignment" in script
    assert_script(script)

    restricted = tenant.spec_file("restricted")
    apply(tenant, restricted)
    edit(restricted, "restriction: application_access_policy", "restriction: rbac_for_applications\n  uses_ews: true")
    script = run(tenant, "plan", restricted, "--format", "powershell")
    assert "Remove-ApplicationAccessPolicy" in script and "Set-OrganizationConfig" in script
    assert_script(script)


def test_drift_fix_scripts(tenant: Tenant) -> None:
    """The seeded drift of tests/unit/test_markdown.py, then a room list deleted behind reconciler's back and an
    unscoped role assignment made by hand (access wider than the spec, with the command that removes it)."""
    report = seeded_drift(tenant)
    [block] = powershell_blocks(drift_markdown(report, KINDS, "specs/example.yaml"))
    assert "Set-MgUserLicense" in block and "Set-MailboxFolderPermission" in block
    assert_script(block)
    spec = tenant.spec_file("example")
    tenant.exchange("Remove-DistributionGroup", {"Identity": "Meeting Rooms", "Confirm": False})
    markdown = run(tenant, "drift", spec, "--format", "markdown", codes=(2,))
    [block] = powershell_blocks(markdown)
    assert "New-DistributionGroup -Name 'Meeting Rooms' -RoomList" in block
    assert_script(block)

    by_hand = "By hand O'Brien $(Stop-Computer)"
    principals = tenant.exchange("Get-ServicePrincipal", {"Identity": GUID})
    principal = next(str(r["ObjectId"]) for r in principals if str(r["AppId"]).lower() == GUID)
    role = {"Name": by_hand, "Role": "Application Calendars.ReadWrite", "App": principal}
    tenant.exchange("New-ManagementRoleAssignment", role)
    [block] = powershell_blocks(run(tenant, "drift", spec, "--format", "markdown", codes=(2,)))
    assert "Remove-ManagementRoleAssignment" in block
    assert_names(block, [by_hand])
    blocks = powershell_blocks(run(tenant, "plan", spec, "--format", "markdown"))
    assert len(blocks) == 2  # what removes the wider access, and the plan as PowerShell
    assert_names(blocks[0], [by_hand])
    assert_script(blocks[1])


# -- names from the injection corpus, through each kind's hooks --------------------------------------
def scope_filter(group: str) -> str:
    """The management scope's recipient filter; the group is an OPATH text value."""
    return opath_equals("MemberOfGroup", group)


def opath_safe(name: str) -> str:
    """The name without the curly single quotes, which no OPATH filter takes (syntax.opath_literal refuses them:
    so does the spec, for a scope group)."""
    return "".join(c for c in name if c not in PS_SINGLE_QUOTES[1:])


def kind_changes(name: str) -> list[tuple[dict[str, Any], list[str]]]:
    """For each kind and action, a change whose names carry `name`, and the values its commands must quote."""
    user = {
        "user_principal_name": f"{name}@contoso.com",
        "display_name": f"{name} display",
        "given_name": f"{name} given",
        "surname": f"{name} surname",
        "mail_nickname": f"{name} nick",
        "usage_location": "US",
        "account_enabled": False,
        "force_change_password_next_sign_in": False,
    }
    group = f"{opath_safe(name)} group"
    scope = {"name": name, "recipient_filter": scope_filter(f"CN={group},DC=contoso,DC=com")}
    server_scope = {"name": name, "recipient_filter": scope_filter(group)}
    role = {"role": f"{name} role", "assignee": f"{name} user", "assignee_type": "user", "scope": f"{name} scope"}
    app_role = {"role": f"{name} role", "assignee": GUID, "assignee_type": "app", "scope": f"{name} scope"}
    rooms = {"name": name, "room_list": True, "rooms": [f"{name} room 1", f"{name} room 2"]}
    folder = {"mailbox": f"{name} mailbox", "grantee": f"{name} grantee", "access_rights": f"{name} rights"}
    editor = {"mailbox": f"{name} mailbox", "grantee": f"{name} grantee", "access_rights": "Editor"}
    flags = {**editor, "sharing_permission_flags": ["Delegate", "CanViewPrivateItems"]}
    policy = {"app_id": name, "scope_group": f"{name} group", "access_right": "RestrictAccess"}
    mailbox_folder = f"{name} mailbox:\\Calendar"
    return [
        (
            {"kind": "user", "action": "create", "after": user},
            [f"{name}@contoso.com", f"{name} display", f"{name} given", f"{name} surname", f"{name} nick"],
        ),
        (
            {"kind": "user", "action": "update", "before": {}, "after": user, "changed": ["display_name"], "id": name},
            [name, f"{name} display"],
        ),
        ({"kind": "user", "action": "delete", "before": user}, [f"{name}@contoso.com"]),
        (
            {"kind": "license_assignment", "action": "update", "before": {"user": name, "skus": [f"{name} old"]}}
            | {"after": {"user": name, "skus": [f"{name} new", f"{name} other"]}},
            [name, f"{name} old", f"{name} new", f"{name} other"],
        ),
        ({"kind": "management_scope", "action": "create", "after": scope}, [name, scope["recipient_filter"]]),
        ({"kind": "management_scope", "action": "update", "after": scope}, [name, scope["recipient_filter"]]),
        ({"kind": "management_scope", "action": "create", "after": server_scope}, [name, group]),
        ({"kind": "management_scope", "action": "update", "after": server_scope}, [name, group]),
        ({"kind": "management_scope", "action": "delete", "before": scope}, [name]),
        (
            {"kind": "role_assignment", "action": "create", "after": role},
            [name, *list(role.values())[:2], role["scope"]],
        ),
        (
            {"kind": "role_assignment", "action": "create", "after": app_role},
            [name, f"{name} role", GUID, f"{name} scope"],
        ),
        (
            {"kind": "role_assignment", "action": "replace", "before": role, "after": role, "id": f"{name} id"},
            [f"{name} id", name, f"{name} role", f"{name} user", f"{name} scope"],
        ),
        (
            {"kind": "role_assignment", "action": "update", "before": role, "after": role, "id": f"{name} id"},
            [f"{name} id", f"{name} scope"],
        ),
        ({"kind": "role_assignment", "action": "delete", "before": role}, [name]),
        ({"kind": "room_list", "action": "create", "after": rooms}, [name, f"{name} room 1", f"{name} room 2"]),
        (
            {"kind": "room_list", "action": "update", "before": {**rooms, "rooms": [f"{name} room 1", f"{name} old"]}}
            | {"after": rooms, "changed": ["room_list", "rooms"]},
            [name, f"{name} room 2", f"{name} old"],
        ),
        ({"kind": "room_list", "action": "delete", "before": rooms}, [name]),
        ({"kind": "calendar_permission", "action": "create", "after": folder}, [mailbox_folder, f"{name} grantee"]),
        (
            {"kind": "calendar_permission", "action": "create", "after": flags},
            [mailbox_folder, f"{name} grantee"],
        ),
        (
            {"kind": "calendar_permission", "action": "update", "before": flags, "after": editor},
            [mailbox_folder, f"{name} grantee"],
        ),
        ({"kind": "calendar_permission", "action": "delete", "before": folder}, [mailbox_folder, f"{name} grantee"]),
        (
            {"kind": "application_access_policy", "action": "replace", "before": policy, "after": policy}
            | {"id": f"{name} id"},
            [f"{name} id", name, f"{name} group"],
        ),
        ({"kind": "application_access_policy", "action": "delete", "before": policy}, [name]),
        ({"kind": "ews_access", "action": "update", "after": {"allowed_app_ids": [name, f"{name} 2"]}}, [name]),
    ]


def address(change: dict[str, Any], name: str) -> str:
    if change["kind"] == "calendar_permission":
        return f"calendar_permission.{name} mailbox/{name} grantee"
    if change["kind"] in ("user", "license_assignment"):
        return f"{change['kind']}.service_account"
    return f"{change['kind']}.{name}"


@pytest.mark.parametrize("name", NAMES, ids=range(len(NAMES)))
def test_names_from_the_injection_corpus_stay_one_literal(name: str) -> None:
    changes = []
    for change, quoted in kind_changes(name):
        change = {"address": address(change, name), "id": None, **change}
        assert_names("\n".join(KINDS[change["kind"]].powershell(change)), quoted)
        changes.append(change)
    plan = {
        "tenant": name,
        "spec": {"path": name},
        "summary": {"add": 1, "change": 1, "destroy": 1},
        "changes": changes,
    }
    assert_script(plan_script(plan, KINDS))


def test_a_scope_filter_keeps_the_dn() -> None:
    """The filter literal's value is the OPATH filter, whose text value is the group's DN again."""
    for name in NAMES:
        if any(c in name for c in "\u2018\u2019\u201a\u201b"):
            continue  # opath_literal refuses the curly single quotes
        dn = f"CN={name},DC=contoso,DC=com"
        change = {"address": "management_scope.S", "kind": "management_scope", "action": "create"}
        lines = KINDS["management_scope"].powershell(
            {**change, "after": {"name": "S", "recipient_filter": scope_filter(dn)}}
        )
        [filter_text] = [v for v in literals(parse("\n".join(lines))) if v.startswith("MemberOfGroup")]
        assert read_opath_text(filter_text.removeprefix("MemberOfGroup -eq ")) == (dn, "")


@pytest.mark.parametrize("name", NAMES, ids=range(len(NAMES)))
def test_exchange_server_manual_commands_with_names_from_the_corpus(name: str) -> None:
    """The Exchange Management Shell lines of the kinds apply cannot write on Exchange Server."""
    group = f"{opath_safe(name)} group"
    cases: list[tuple[str, dict[str, Any] | None, dict[str, Any], list[str]]] = [
        ("management_scope", None, {"name": name, "recipient_filter": scope_filter(group)}, [name, group]),
        (
            "role_assignment",
            None,
            {"role": "ApplicationImpersonation", "assignee": f"{name} user", "assignee_type": "user"}
            | {"scope": f"{name} scope"},
            [name, f"{name} user", f"{name} scope"],
        ),
        ("room_list", None, {"name": name, "room_list": True, "rooms": [f"{name} room"]}, [name, f"{name} room"]),
        (
            "room_list",
            {"name": name, "room_list": False, "rooms": []},
            {"name": name, "room_list": True, "rooms": [f"{name} room"]},
            [name, f"{name} room"],
        ),
    ]
    lines: list[str] = []
    for kind, before, after, quoted in cases:
        action = Action.CREATE if before is None else Action.UPDATE
        change = Change(address=f"{kind}.{name}", kind=kind, action=action, before=before, after=after)
        manual = KINDS[kind].backend(Target.EXCHANGE_SERVER).manual(change)
        for line in manual:
            parse(line)
        assert_names("\n".join(manual), quoted)
        lines += manual
    assert_script("\n".join(lines))


@pytest.mark.parametrize("name", NAMES, ids=range(len(NAMES)))
def test_drift_fixes_with_names_from_the_corpus(name: str) -> None:
    """A drift report whose objects carry the name: missing ones are created, changed ones updated."""
    group = f"{opath_safe(name)} group"
    entries = [
        {
            "address": f"room_list.{name}",
            "kind": "room_list",
            "status": "missing",
            "message": name,
            "attributes": [],
            "expected": {"name": name, "room_list": True, "rooms": [f"{name} room"]},
        },
        {
            "address": f"management_scope.{name}",
            "kind": "management_scope",
            "status": "missing",
            "message": name,
            "attributes": [],
            "expected": {"name": name, "recipient_filter": scope_filter(group)},
        },
        {
            "address": "user.service_account",
            "kind": "user",
            "status": "changed",
            "message": name,
            "attributes": [
                {
                    "name": "display_name",
                    "expected": f"{name} display",
                    "actual": "x",
                    "recorded": "x",
                    "changed_outside": True,
                }
            ],
        },
        {
            "address": f"role_assignment.{name}",
            "kind": "role_assignment",
            "status": "wider",
            "message": name,
            "attributes": [],
            "fix": [f"Remove-ManagementRoleAssignment -Identity {ps_single_quoted(name + ' id')} -Confirm:$false"],
        },
    ]
    report = {"format_version": "1.1", "tenant": name, "drifted": True, "checked": 4, "entries": entries}
    [block] = powershell_blocks(drift_markdown(report, KINDS, f"specs/{name}.yaml"))
    assert_names(block, [name, f"{name} room", group, f"{name} display", f"{name} id"])


# -- names from the corpus, end to end through a tenant ------------------------------------------------
# Quotes of every kind, expansion, separators, and rich markup ([b]) for the human plan that prints the manual lines
HOSTILE = "O'Brien [b] \u2018East\u2019 $(Stop-Computer) `t; | & @{a=1} \u201cx\u201d"


def rewrite(path: str, *replacements: tuple[str, str]) -> None:
    text = Path(path).read_text("utf-8")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    Path(path).write_text(text, "utf-8")


def test_a_spec_full_of_hostile_names_plans_scripts_the_grammar_reads(tenant: Tenant) -> None:
    """Exchange Online: the scope group, scope, assignment, room list and display name carry the corpus."""
    group, scope, assignment = f"{opath_safe(HOSTILE)} group", f"{HOSTILE[:40]} S", f"{HOSTILE[:40]} A"
    rooms = f"{HOSTILE[:40]} R"
    tenant.exchange("New-DistributionGroup", {"Name": group, "Members": ["alice", "boardroom"]})
    spec = tenant.spec_file("example")
    rewrite(
        spec,
        ("scope_group: cronofy-scope@contoso.com", f"scope_group: {json.dumps(group)}"),
        ("display_name: Cronofy Service Account", f"display_name: {json.dumps(HOSTILE)}"),
        ("scope_name: CronofyImpersonationScope", f"scope_name: {json.dumps(scope)}"),
        ("assignment_name: CronofyImpersonationAssignment", f"assignment_name: {json.dumps(assignment)}"),
        ("  - name: Meeting Rooms", f"  - name: {json.dumps(rooms)}"),
        ("    csv: cronofy.csv", "    addresses: [alice]"),
    )
    script = run(tenant, "plan", spec, "--format", "powershell")
    assert_names(script, [HOSTILE, scope, assignment, rooms])
    assert "O''Brien" in script and "\u2018\u2018East\u2019\u2019" in script
    for block in powershell_blocks(run(tenant, "plan", spec, "--format", "markdown")):
        assert_script(block)
    assert_script("\n".join(json.loads(run(tenant, "permissions", spec, "--json"))["grant_read"]))

    apply(tenant, spec)
    tenant.exchange("Remove-DistributionGroup", {"Identity": rooms, "Confirm": False})
    [block] = powershell_blocks(run(tenant, "drift", spec, "--format", "markdown", codes=(2,)))
    assert_names(block, [rooms])


def test_an_exchange_server_spec_full_of_hostile_names(tmp_path: Path) -> None:
    """Exchange Server: the manual commands and the permission grants carry the scope group and names."""
    server = fresh(tmp_path, "exchange-server")
    group, scope, assignment = f"{opath_safe(HOSTILE)} group", f"{HOSTILE[:40]} S", f"{HOSTILE[:40]} A"
    command = f"New-DistributionGroup -Name {ps_single_quoted(group)} -Members alice"
    made = server.cli("sim", "ems", str(server.tenant), command)
    assert made.exit_code == 0, made.output
    spec = server.spec_file("exchange-server")
    rewrite(
        spec,
        ("scope_group: cronofy-scope@contoso.com", f"scope_group: {json.dumps(group)}"),
        ("  level: restricted", f"  level: restricted\n  scope_name: {json.dumps(scope)}"),
        ("  level: restricted", f"  level: restricted\n  assignment_name: {json.dumps(assignment)}"),
        ("    csv: cronofy.csv", "    addresses: [alice]"),
    )
    data = json.loads(run(server, "plan", spec, "--json"))
    manual = [line for change in data["changes"] for line in change["manual"]]
    assert_names("\n".join(manual), [group, scope, assignment])
    assert manual_in_human_plan(run(server, "plan", spec)) == manual
    assert_names(run(server, "plan", spec, "--format", "powershell"), [group, scope, assignment])
    grants = json.loads(run(server, "permissions", spec, "--json"))
    assert_names("\n".join(grants["grant_read"]), [scope])
    # nothing made yet: the drift fix creates the scope from the group, looked up by its name (quotes doubled once)
    [block] = powershell_blocks(run(server, "drift", spec, "--format", "markdown", codes=(2,)))
    assert f"Get-DistributionGroup -Identity {ps_single_quoted(group)}" in block
    assert_names(block, [group, scope, assignment])
