"""reconciler/syntax.py: each literal, read back by a small reference parser written from the documented rules
(PowerShell Language Specification 2.3.5.2 String literals; Exchange's "Additional OPATH syntax information"),
gives exactly the value, and ends exactly where the literal ends."""

from __future__ import annotations

from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.syntax import (
    PS_DOUBLE_QUOTES,
    PS_SINGLE_QUOTES,
    UnquotableValue,
    opath_equals,
    opath_literal,
    ps_double_quoted,
    ps_single_quoted,
)


class Expansion(Exception):
    """The reference parser met a variable or subexpression: the literal would not be taken verbatim."""


# -- reference parsers ---------------------------------------------------------------------
def read_verbatim(text: str) -> tuple[str, str]:
    """verbatim-string-literal: single-quote-character verbatim-string-part* single-quote-character, where a part
    is any character except a single-quote-character, or two single-quote-characters (the second is kept, as
    PowerShell's tokenizer does). Returns (value, the text after the literal)."""
    assert text and text[0] in PS_SINGLE_QUOTES, text
    value, i = [], 1
    while True:
        if i >= len(text):
            raise ValueError("unterminated verbatim string")
        c = text[i]
        if c in PS_SINGLE_QUOTES:
            if i + 1 < len(text) and text[i + 1] in PS_SINGLE_QUOTES:
                value.append(text[i + 1])
                i += 2
                continue
            return "".join(value), text[i + 1 :]
        value.append(c)
        i += 1


ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "e": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _variable_char(c: str) -> bool:
    return c.isalnum() or c in "_?:"


def read_expandable(text: str) -> tuple[str, str]:
    """expandable-string-literal: double-quote-character ... double-quote-character. A backtick escapes the next
    character (about_Special_Characters: `0 `a `b `e `f `n `r `t `v `u{x}; any other character stands for
    itself); $ followed by ( { a variable character, $ ? or ^ expands (Expansion); two double-quote-characters
    are one; any other double-quote-character ends the string."""
    assert text and text[0] in PS_DOUBLE_QUOTES, text
    value, i = [], 1
    while True:
        if i >= len(text):
            raise ValueError("unterminated expandable string")
        c = text[i]
        if c == "`":
            if i + 1 >= len(text):
                raise ValueError("backtick at the end")
            nxt = text[i + 1]
            if nxt == "u" and text[i + 2 : i + 3] == "{":
                end = text.index("}", i)
                value.append(chr(int(text[i + 3 : end], 16)))
                i = end + 1
                continue
            value.append(ESCAPES.get(nxt, nxt))
            i += 2
        elif c == "$":
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if nxt in ("(", "{", "$", "^") or (nxt and _variable_char(nxt)):
                raise Expansion(text[i : i + 10])
            value.append(c)
            i += 1
        elif c in PS_DOUBLE_QUOTES:
            if i + 1 < len(text) and text[i + 1] in PS_DOUBLE_QUOTES:
                value.append(text[i + 1])
                i += 2
                continue
            return "".join(value), text[i + 1 :]
        else:
            value.append(c)
            i += 1


def read_opath_text(text: str) -> tuple[str, str]:
    """An OPATH text value as Microsoft documents it: 'text', with '' for a single quotation mark."""
    assert text.startswith("'"), text
    value, i = [], 1
    while True:
        if i >= len(text):
            raise ValueError("unterminated OPATH text value")
        if text[i] == "'":
            if text[i + 1 : i + 2] == "'":
                value.append("'")
                i += 2
                continue
            return "".join(value), text[i + 1 :]
        value.append(text[i])
        i += 1


# -- properties ----------------------------------------------------------------------------
SPECIAL = "'\"$()`;|&@{}\u2018\u2019\u201a\u201b\u201c\u201d\u201e\n\r\t #<>-"
SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
TEXT = st.text(alphabet=st.sampled_from(SPECIAL) | st.characters(exclude_categories=SURROGATES), max_size=40)
# What follows a literal in a command: never a quotation mark right after it (that would be a doubled quote).
SUFFIX = st.sampled_from(["", " -Confirm:$false", " 'x'", ' "y"', "; Remove-Item C:\\ -Recurse", "\n$z", ")"])


@settings(max_examples=500, deadline=None)
@given(value=TEXT, suffix=SUFFIX)
def test_single_quoted_round_trips(value: str, suffix: str) -> None:
    assert read_verbatim(ps_single_quoted(value) + suffix) == (value, suffix)


@settings(max_examples=500, deadline=None)
@given(value=TEXT, suffix=SUFFIX)
def test_double_quoted_round_trips_and_expands_nothing(value: str, suffix: str) -> None:
    assert read_expandable(ps_double_quoted(value) + suffix) == (value, suffix)


@settings(max_examples=500, deadline=None)
@given(value=TEXT, suffix=SUFFIX)
def test_opath_literal_round_trips_or_is_refused(value: str, suffix: str) -> None:
    try:
        literal = opath_literal(value)
    except UnquotableValue:
        assert any(c in value for c in PS_SINGLE_QUOTES[1:])
        return
    assert read_opath_text(literal + suffix) == (value, suffix)
    assert read_verbatim(literal + suffix) == (value, suffix)  # a PowerShell-style reader agrees


@settings(max_examples=300, deadline=None)
@given(dn=TEXT.filter(lambda v: not any(c in v for c in PS_SINGLE_QUOTES[1:])))
def test_an_opath_filter_in_a_double_quoted_powershell_argument(dn: str) -> None:
    """PowerShell hands the filter string to Exchange unchanged; Exchange reads the DN back from it."""
    argument = ps_double_quoted(opath_equals("MemberOfGroup", dn))
    filter_text, rest = read_expandable(argument)
    assert rest == "" and filter_text.startswith("MemberOfGroup -eq ")
    assert read_opath_text(filter_text.removeprefix("MemberOfGroup -eq ")) == (dn, "")


@settings(max_examples=300, deadline=None)
@given(dn=TEXT.filter(lambda v: not any(c in v for c in PS_SINGLE_QUOTES[1:])))
def test_an_opath_filter_in_a_single_quoted_powershell_argument(dn: str) -> None:
    filter_text, rest = read_verbatim(ps_single_quoted(opath_equals("MemberOfGroup", dn)))
    assert rest == "" and read_opath_text(filter_text.removeprefix("MemberOfGroup -eq ")) == (dn, "")


# -- examples ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "single", "double"),
    [
        ("Meeting Rooms", "'Meeting Rooms'", '"Meeting Rooms"'),
        ("O'Brien", "'O''Brien'", '"O\'Brien"'),
        ('say "hi"', "'say \"hi\"'", '"say `"hi`""'),
        ("$(Remove-Item C:\\)", "'$(Remove-Item C:\\)'", '"`$(Remove-Item C:\\)"'),
        ("a`b", "'a`b'", '"a``b"'),
        ("x; Stop-Computer | Out-Null & @{a=1}", "'x; Stop-Computer | Out-Null & @{a=1}'", None),
        ("\u2018curly\u2019 \u201achars\u201b", "'\u2018\u2018curly\u2019\u2019 \u201a\u201achars\u201b\u201b'", None),
        ("\u201cdouble\u201d \u201e", "'\u201cdouble\u201d \u201e'", '"`\u201cdouble`\u201d `\u201e"'),
        ("two\nlines", "'two\nlines'", '"two\nlines"'),
        ("", "''", '""'),
        ("$env:PATH ${x} $$", "'$env:PATH ${x} $$'", '"`$env:PATH `${x} `$`$"'),
    ],
)
def test_examples(value: str, single: str, double: str | None) -> None:
    assert ps_single_quoted(value) == single
    assert read_verbatim(single) == (value, "")
    if double is not None:
        assert ps_double_quoted(value) == double
    assert read_expandable(ps_double_quoted(value)) == (value, "")


def test_opath_examples() -> None:
    assert opath_literal("CN=Cronofy Rooms,OU=contoso,DC=com") == "'CN=Cronofy Rooms,OU=contoso,DC=com'"
    assert opath_literal("CN=O'Brien's team,DC=com") == "'CN=O''Brien''s team,DC=com'"
    assert opath_equals("MemberOfGroup", "CN=O'Brien") == "MemberOfGroup -eq 'CN=O''Brien'"
    assert ps_double_quoted(opath_equals("MemberOfGroup", "CN=$x`y")) == "\"MemberOfGroup -eq 'CN=`$x``y'\""
    with pytest.raises(UnquotableValue, match="curly"):
        opath_literal("CN=O\u2019Brien")
    with pytest.raises(UnquotableValue):
        opath_equals("MemberOfGroup -or 1", "x")


def test_the_reference_parsers_see_what_an_unescaped_value_would_do() -> None:
    """The parsers are not lenient: unescaped input ends early or expands."""
    assert read_verbatim("'O'Brien'") == ("O", "Brien'")
    assert read_verbatim("'it\u2019s'") == ("it", "s'")
    with pytest.raises(Expansion):
        read_expandable('"$(Stop-Computer)"')
    assert read_expandable('"a\u201db"') == ("a", 'b"')
    assert read_opath_text("'O'Brien'") == ("O", "Brien'")


@settings(max_examples=300, deadline=None)
@given(value=TEXT)
def test_same_output_as_the_plan_scripts_quote(value: str) -> None:
    """render/powershell.py's quote() (used by the plan script today) and ps_single_quoted agree on every string."""
    powershell = pytest.importorskip("reconciler.render.powershell")
    quote = getattr(powershell, "quote", None)
    if quote is None:
        pytest.skip("render/powershell.py no longer has quote()")
    assert ps_single_quoted(value) == quote(value)
