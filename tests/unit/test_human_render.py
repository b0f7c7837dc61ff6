"""The human plan's changes are streamed as plain lines (cli/base.py print_plan), not parsed as rich markup line by
line: what they print must be what rich prints for the same plan's markup, piped, on a terminal, and with
--no-color (bold kept, colours dropped), for every kind of change and for text that looks like markup."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from reconciler.cli.base import print_lines, print_painted, print_plan
from reconciler.render.human import MARKUP, Paint, drift_lines, fleet_lines, plan_lines

AWKWARD = ["[bold]x[/]", "a\\", "\\[x]", "[/]", "ünïcode ✓", "back\\\\slash", "bell\x07", "tab\tand\nnewline", "{}"]


def _change(action: str, name: str, text: str, **extra: Any) -> dict[str, Any]:
    before = {"role": "freeBusyRead", "note": text, "n": 3} if action != "create" else None
    after = (
        {"role": "write", "note": text, "n": None, "secret": "(sensitive)"}
        if action not in ("delete", "forget")
        else None
    )
    change: dict[str, Any] = {
        "address": f"calendar_permission.{name}",
        "action": action,
        "before": before,
        "after": after,
        "changed": ["role"] if action in ("update", "replace") else [],
    }
    return {**change, **extra}


def _plan(changes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "changes": changes,
        "warnings": ["a [warning]"],
        "wider_access": [],
        "spec": {"path": "spec.yaml"},
        "summary": {"add": 1, "change": 2, "destroy": 1},
    }


def _consoles() -> list[Console]:
    piped = Console(file=io.StringIO(), highlight=False, soft_wrap=True)
    terminal = Console(
        file=io.StringIO(), force_terminal=True, color_system="standard", highlight=False, soft_wrap=True
    )
    truecolor = Console(
        file=io.StringIO(), force_terminal=True, color_system="truecolor", highlight=False, soft_wrap=True
    )
    no_color = Console(
        file=io.StringIO(),
        force_terminal=True,
        color_system="256",
        highlight=False,
        soft_wrap=True,
        no_color=True,
    )
    return [piped, terminal, truecolor, no_color]


def _same_as_rich(plan: dict[str, Any]) -> None:
    for streamed, rich in zip(_consoles(), _consoles(), strict=True):
        print_plan(plan, streamed)
        print_lines(plan_lines(plan), rich)
        assert isinstance(streamed.file, io.StringIO) and isinstance(rich.file, io.StringIO)
        assert streamed.file.getvalue() == rich.file.getvalue()


@pytest.mark.parametrize("text", AWKWARD)
def test_every_action_prints_as_rich_prints_its_markup(text: str) -> None:
    changes = [
        _change("create", f"room1@contoso.com/{text}", text),
        _change("update", "room2@contoso.com/svc", text, widens="Editor on every [calendar]"),
        _change("replace", "room3@contoso.com/svc", text, reason=f"create-only {text} changed"),
        _change("delete", "room4@contoso.com/svc", text),
        _change("forget", "room5@contoso.com/svc", text),
        _change("no-op", "room6@contoso.com/svc", text),
        _change(
            "create",
            "room7@contoso.com/svc",
            text,
            manual=[f"Add-MailboxFolderPermission -Identity '{text}'"],
            automated=False,
        ),
    ]
    _same_as_rich(_plan(changes))


# No ":": rich's print turns ":a:" into an emoji; streamed lines print addresses and values as they are.
TEXT = st.text(alphabet=st.sampled_from("ab[]/\\ =#\"'{}é\x07\t"), max_size=20)


@settings(max_examples=60, deadline=None)
@given(TEXT.filter(lambda t: not t.endswith("\\") and "\\[" not in t))  # see the test below
def test_any_text_prints_as_rich_prints_it(text: str) -> None:
    _same_as_rich(_plan([_change("update", f"m@x/{text}", text, reason=text, manual=[text])]))


def test_no_changes_is_rich_alone() -> None:
    _same_as_rich(_plan([_change("no-op", "m@x/svc", "x")]))


def test_backslashes_are_printed_as_they_are() -> None:
    """rich's `escape` doubles a trailing backslash (printed twice), and its markup drops the backslash of a `\\[` that
    is no tag; streamed lines print a manual command or an address as it is."""
    console = Console(file=io.StringIO(), highlight=False, soft_wrap=True)
    change = _change("update", "m@x/a\\[b", "x", manual=["Set-Thing -Path C:\\"])
    print_plan(_plan([change]), console)
    assert isinstance(console.file, io.StringIO)
    assert "      Set-Thing -Path C:\\\n" in console.file.getvalue()
    assert "# calendar_permission.m@x/a\\[b will be updated in place" in console.file.getvalue()


def _drift(text: str) -> dict[str, Any]:
    attribute = {"name": "access_rights", "expected": "Editor", "actual": text, "recorded": None}
    entries = [
        {
            "address": f"calendar_permission.a@x/{text}",
            "status": "changed",
            "message": f"changed outside reconciler {text}",
            "fix": [f"Set-MailboxFolderPermission -Identity '{text}'"],
            "attributes": [{**attribute, "changed_outside": True}, {**attribute, "changed_outside": False}],
        },
        {"address": "role_assignment.x", "status": "wider", "message": "(!) [wide]", "attributes": []},
        {"address": "user.svc", "status": "missing", "message": "gone", "fix": None, "attributes": []},
    ]
    return {"entries": entries, "checked": 12}


def _same_painted_as_rich(render: Callable[[Paint], list[str]]) -> None:
    for streamed, rich in zip(_consoles(), _consoles(), strict=True):
        print_painted(render, streamed)
        print_lines(render(MARKUP), rich)
        assert isinstance(streamed.file, io.StringIO) and isinstance(rich.file, io.StringIO)
        assert streamed.file.getvalue() == rich.file.getvalue()


@pytest.mark.parametrize("text", [t for t in AWKWARD if not t.endswith("\\")])  # rich doubles it at a line's end
def test_drift_and_fleet_reports_print_as_rich_prints_their_markup(text: str) -> None:
    drifted = _drift(text)
    in_sync = {"entries": [], "checked": 3}
    _same_painted_as_rich(lambda paint: drift_lines(drifted, paint))
    _same_painted_as_rich(lambda paint: drift_lines(in_sync, paint))
    fleet = {
        "tenants": [
            {"spec": f"specs/{text}.yaml", "tenant": "contoso", "status": "drifted", "report": drifted},
            {"spec": "specs/b.yaml", "tenant": "fabrikam", "status": "in_sync", "report": in_sync},
            {"spec": "specs/c.yaml", "tenant": None, "status": "error", "error": f"cannot [read]\n {text}"},
        ]
    }
    _same_painted_as_rich(lambda paint: fleet_lines(fleet, paint))
