"""Literals for the languages reconciler writes values into: one function per syntax, each exact for every
string it accepts, from the syntax's documented rules.

PowerShell (the plan's `--format powershell` script, Exchange Management Shell commands for Exchange Server):
the PowerShell Language Specification, 2.3.5.2 String literals
https://learn.microsoft.com/powershell/scripting/lang-spec/chapter-02#2352-string-literals
and about_Quoting_Rules
https://learn.microsoft.com/powershell/module/microsoft.powershell.core/about/about_quoting_rules

  - verbatim (single-quoted): a single-quote-character is any of ' U+2018 U+2019 U+201A U+201B; inside, every
    character is literal except a single-quote-character, written twice ("To include a single quotation mark in
    a single-quoted string, use a second consecutive single quote"). Nothing is expanded: not $, not `, not
    $(...); line breaks are literal too.
  - expandable (double-quoted): a double-quote-character is any of " U+201C U+201D U+201E; inside, $ starts a
    variable or $(...) subexpression, and ` (backtick) escapes the next character. A backtick before a character
    with no escape meaning (` $ " and the curly double quotes) stands for that character.

Exchange OPATH filters (-RecipientRestrictionFilter "MemberOfGroup -eq '<DN>'"): "Additional OPATH syntax
information" https://learn.microsoft.com/powershell/exchange/recipient-filters#additional-opath-syntax-information
  - "Text values: Enclose the text in single quotation marks"; a single quotation mark inside is doubled (the
    page's own example escapes a variable's value with `-Replace "'","''"`).

Control characters: PowerShell's grammar takes them literally inside both kinds of string, so these functions are
exact for them; but reconciler's commands are line-oriented (the plan's `manual` list, `sim ems "LINE"`, a reviewer
pasting one line), so the spec refuses control characters and line breaks in every name it takes
(spec/limits.py) rather than write a literal that spans lines.
"""

from __future__ import annotations

from reconciler.errors import ReconcilerError

PS_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"  # ' and the curly single quotation marks
PS_DOUBLE_QUOTES = '"\u201c\u201d\u201e'  # " and the curly double quotation marks
PS_BACKTICKED = "`$" + PS_DOUBLE_QUOTES  # what a double-quoted literal escapes with a backtick


class UnquotableValue(ReconcilerError, ValueError):
    """A value that cannot be written in a syntax without changing its meaning somewhere."""


def ps_single_quoted(value: str) -> str:
    """A PowerShell verbatim string literal: `'...'`, each of ' U+2018 U+2019 U+201A U+201B doubled; nothing
    inside is expanded. The same output as render/powershell.py's quote() for every string."""
    return "'" + "".join(c + c if c in PS_SINGLE_QUOTES else c for c in value) + "'"


def ps_double_quoted(value: str) -> str:
    """A PowerShell expandable string literal whose value is exactly `value`: `"..."`, with ` $ " U+201C U+201D
    U+201E each escaped by a backtick, so nothing is expanded. For embedding text that must sit in double
    quotes, such as an OPATH filter holding single-quoted values:
    ps_double_quoted(f"MemberOfGroup -eq {opath_literal(dn)}")."""
    return '"' + "".join("`" + c if c in PS_BACKTICKED else c for c in value) + '"'


def opath_literal(value: str) -> str:
    """An OPATH text value: `'...'` with each ' doubled.

    Refuses the curly single quotes U+2018 U+2019 U+201A U+201B: Microsoft documents only ' as OPATH's quotation
    mark, but the filter is read by a PowerShell-like parser in which the curly ones end a string too; a value
    holding one would mean different things to the two readings (doubled or not), so no literal is exact for both."""
    curly = sorted({c for c in value if c in PS_SINGLE_QUOTES[1:]})
    if curly:
        raise UnquotableValue(
            f"{value!r} holds the curly quotation mark(s) {' '.join(curly)}, which an Exchange OPATH filter cannot "
            "hold unambiguously",
            "rename the object with a straight apostrophe (') or without quotation marks",
        )
    return "'" + value.replace("'", "''") + "'"


def opath_equals(property_name: str, value: str) -> str:
    """`Property -eq 'value'`: an OPATH comparison of a filterable property with a text value."""
    if not property_name.isidentifier():
        raise UnquotableValue(f"{property_name!r} is not an OPATH property name", "use a filterable property name")
    return f"{property_name} -eq {opath_literal(value)}"
