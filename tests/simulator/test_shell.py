"""The simulator's Exchange Management Shell (`sim ems`): PowerShell's quoting rules
(https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_quoting_rules), special
characters, variables, and parameter binding as PowerShell does it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.render.powershell import quote
from reconciler.simulator import ShellError, init_tenant, run_shell_lines
from reconciler.simulator.store import TenantStore

TRICKY = 'O\'Brien "Team" $(Get-Date) `t $HOME ; | & @{a=1} \u2018curly\u2019 \u201cdouble\u201d end'


@pytest.fixture
def tenant(tmp_path: Path) -> Path:
    path = tmp_path / "server.json"
    init_tenant(path, flavor="exchange_server")
    return path


def echo(tenant: Path, *lines: str) -> list[object]:
    """The output of the last line (an expression statement writes its value)."""
    return list(run_shell_lines(tenant, list(lines)))


def names(tenant: Path) -> set[str]:
    store = TenantStore(tenant)
    return {str(r["Name"]) for r in store.data["exchange"]["recipients"]}


def test_single_quotes_are_literal_and_a_doubled_quote_is_one(tenant: Path) -> None:
    assert echo(tenant, "'It''s $HOME $(1) `t ; | & @{}'") == ["It's $HOME $(1) `t ; | & @{}"]
    # the curly single quotes are single quotes, doubled ones are one quote (the second is kept)
    assert echo(tenant, "\u2018Joe\u2019\u2019s room\u2019") == ["Joe\u2019s room"]
    assert echo(tenant, "'mixed\u2019") == ["mixed"]
    assert echo(tenant, "'a\u2018\u2018b'") == ["a\u2018b"]
    assert echo(tenant, "'first line\nsecond line'") == ["first line\nsecond line"]
    with pytest.raises(ShellError, match="ParserError: The string is missing the terminator: '"):
        echo(tenant, "'open")


def test_double_quotes_expand_and_take_escapes(tenant: Path) -> None:
    lines = ["$n = 'Five'", '"Room $n ${n} `$n $($n.Length) ""q"" `"q`" tab:`t nl:`n u:`u{263A}"']
    assert echo(tenant, *lines) == ['Room Five Five $n 4 "q" "q" tab:\t nl:\n u:\u263a']
    # the curly double quotes are double quotes
    assert echo(tenant, "$n = 'x'", "\u201c$n \u201d\u201d\u201e") == ["x \u201d"]
    assert echo(tenant, '"$undefined|"') == ["|"]  # an unset variable is $null: nothing
    assert echo(tenant, '"cost: $ 5; a|b & c"') == ["cost: $ 5; a|b & c"]
    assert echo(tenant, "\"$('a'; 'b')\"") == ["a b"]
    with pytest.raises(ShellError, match='The string is missing the terminator: "'):
        echo(tenant, '"open')


def test_bare_words_variables_and_separators(tenant: Path) -> None:
    assert echo(tenant, "$x = 'a'; $y = \"$x-b\"; $y") == ["a-b"]
    assert echo(tenant, "$x = 'a'\n$x") == ["a"]
    assert echo(tenant, "$h = @{Add='x','y'; Remove=\"z\"}; $h.Add") == ["x", "y"]
    assert echo(tenant, "$list = 'a', 'b',\n  'c'; $list") == ["a", "b", "c"]
    assert echo(tenant, "$true; $false; $null") == [True, False]
    assert echo(tenant, "# only a comment") == []
    for line, message in (
        ("Get-Mailbox | Remove-Mailbox", "pipeline"),
        ("Get-Mailbox -Identity a&b", "ampersand"),
        ("& Get-Mailbox", "ampersand"),
        ("Get-Mailbox -Filter { Alias -eq 'x' }", "script blocks"),
        ("(Get-Mailbox", r"Missing closing '\)'"),
    ):
        with pytest.raises(ShellError, match=f"ParserError: .*{message}"):
            echo(tenant, line)


@pytest.mark.parametrize(
    "name",
    [TRICKY, "Line one\nLine two", "Tab\there", "back`tick", "\u2018\u2019\u201a\u201b\u201c\u201d\u201e", "$($x)"],
)
def test_product_quoting_round_trips(tenant: Path, name: str) -> None:
    """reconciler quotes every name with render.powershell.quote; the shell reads back exactly that name."""
    run_shell_lines(tenant, [f"New-DistributionGroup -Name {quote(name)} -Alias x{abs(hash(name))}"])
    assert name in names(tenant)
    [group] = run_shell_lines(tenant, [f"Get-DistributionGroup -Identity {quote(name)}"])
    assert group["Name"] == name


def test_quoted_and_bare_arguments_in_commands(tenant: Path) -> None:
    run_shell_lines(
        tenant,
        [
            "$room = 'Board room'",
            "New-DistributionGroup \"Meeting Rooms\" -RoomList -Members $room,'Conference room A'",
            "Add-DistributionGroupMember -Identity 'Meeting Rooms' -Member \"Conference room B\"",
        ],
    )
    members = run_shell_lines(tenant, ["Get-DistributionGroupMember 'Meeting Rooms'"])
    assert [m["Name"] for m in members] == ["Board room", "Conference room A", "Conference room B"]
    # the en dash starts a parameter too; prefixes and aliases bind as in PowerShell
    run_shell_lines(tenant, ["Remove-DistributionGroupMember \u2013Ident 'Meeting Rooms' -Mem 'Board room' -cf:$false"])
    assert len(run_shell_lines(tenant, ["Get-DistributionGroupMember 'Meeting Rooms'"])) == 2
    ambiguous = "name 'D' is ambiguous. Possible matches include: -DomainController -Debug"
    with pytest.raises(ShellError, match=re.escape(ambiguous)):
        run_shell_lines(tenant, ["Add-DistributionGroupMember 'Meeting Rooms' -D dc01.contoso.com"])
    with pytest.raises(ShellError, match="A positional parameter cannot be found that accepts argument 'extra'"):
        run_shell_lines(tenant, ["Get-DistributionGroup 'Meeting Rooms' extra"])
    with pytest.raises(ShellError, match="Missing an argument for parameter 'Member'"):
        run_shell_lines(tenant, ["Add-DistributionGroupMember 'Meeting Rooms' -Member"])
    with pytest.raises(ShellError, match="parameter 'Identity' is specified more than once"):
        run_shell_lines(tenant, ["Get-DistributionGroup 'Meeting Rooms' -Identity x -Identity y"])
    with pytest.raises(ShellError, match="CommandNotFoundException: The term 'Get-Nothing' is not recognized"):
        run_shell_lines(tenant, ["Get-Nothing"])


def test_a_failed_line_saves_nothing(tenant: Path) -> None:
    with pytest.raises(ShellError):
        run_shell_lines(tenant, ["New-DistributionGroup 'Kept?'", "Add-DistributionGroupMember 'Kept?' -Member nobody"])
    assert "Kept?" not in names(tenant)
