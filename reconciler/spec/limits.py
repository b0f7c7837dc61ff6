"""Limits Microsoft documents for the names a spec gives to Entra ID and Exchange objects.

A name Exchange or Entra cannot take must fail `validate`, at its file:line:column with the limit, never
half-way through `apply`. Each check cites the page that documents the limit. Lengths are counted as .NET
counts them (UTF-16 code units), so a character outside the Basic Multilingual Plane counts twice.

Names reconciler only *refers to* (a group, a mailbox, a role, a grantee) have no length limit here: the tenant
decides whether they exist. They, and every name reconciler creates, must be one line of printable text: a
control character or line break is never part of a real Exchange or Entra name, and the plan's PowerShell and
Exchange Management Shell commands are line-oriented (one command per line in `manual`, in `sim ems`, in a
reviewer's terminal), so a name carrying a line break would be split in two when the command is copied. Refusing
them here keeps reconciler/syntax.py's quoting exact without ever having to put a line break inside a literal.

The functions raise ValueError with the message the user sees (pydantic turns it into a located SpecError);
they return the value unchanged, and pass anything that is not a string on for pydantic's own type error.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

# -- documented limits ---------------------------------------------------------------------
# Entra ID user properties, from the user resource type (Microsoft Graph v1.0):
# https://learn.microsoft.com/graph/api/resources/user
#   displayName "Maximum length is 256 characters"; givenName, surname "Maximum length is 64 characters";
#   mailNickname "Maximum length is 64 characters".
USER_DISPLAY_NAME = 256
USER_GIVEN_NAME = 64
USER_SURNAME = 64
USER_MAIL_NICKNAME = 64

# The user principal name, from "Password policies and account restrictions in Microsoft Entra ID", Username
# policies: https://learn.microsoft.com/entra/identity/authentication/concept-sspr-policy#username-policies
#   Characters allowed: A-Z a-z 0-9 ' . - _ ! # ^ ~; not allowed: any "@" that isn't separating the username from
#   the domain, a period immediately preceding the "@"; total length must not exceed 113 characters, up to 64
#   before the "@", up to 48 after it.
UPN_TOTAL = 113
UPN_LOCAL = 64
UPN_DOMAIN = 48
UPN_LOCAL_CHARS = re.compile(r"[A-Za-z0-9'.\-_!#^~]")
DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")

# An Exchange alias (mail nickname), from New-DistributionGroup -Alias (the same text on every recipient cmdlet):
# https://learn.microsoft.com/powershell/module/exchange/new-distributiongroup
#   "letters, numbers and the characters !, #, $, %, &, ', *, +, -, /, =, ?, ^, _, `, {, |, } and ~. Periods (.)
#   are allowed, but each period must be surrounded by other valid characters (for example, help.desk). Unicode
#   characters from U+00A1 to U+00FF are also allowed. The maximum length of the Alias value is 64 characters."
# The U+00A1-U+00FF range is left out: Entra ID's mailNickname (Graph) documents no such range, and Exchange maps
# those characters to ASCII in the address anyway; ASCII is what both take.
ALIAS = 64
ALIAS_CHARS = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]")

# Exchange object names:
# New-ManagementScope -Name "The name can be up to 64 characters."
#   https://learn.microsoft.com/powershell/module/exchange/new-managementscope
MANAGEMENT_SCOPE_NAME = 64
# New-ManagementRoleAssignment -Name "The maximum length of the name is 64 characters."
#   https://learn.microsoft.com/powershell/module/exchange/new-managementroleassignment
ROLE_ASSIGNMENT_NAME = 64
# New-DistributionGroup -Name (a room list is a distribution group made with -RoomList) "The maximum length is 64
# characters."; -DisplayName "The maximum length is 256 characters."
#   https://learn.microsoft.com/powershell/module/exchange/new-distributiongroup
DISTRIBUTION_GROUP_NAME = 64
DISTRIBUTION_GROUP_DISPLAY_NAME = 256

Check = Callable[[object], object]


def utf16_length(value: str) -> int:
    """The length .NET (Exchange, Entra ID) gives a string: UTF-16 code units."""
    return len(value.encode("utf-16-le")) // 2


def control_character(value: str) -> str | None:
    """The first control character, line break or Unicode line/paragraph separator in `value`, named; else None."""
    for char in value:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            name = unicodedata.name(char, "")
            return f"U+{ord(char):04X}" + (f" ({name})" if name else "")
    return None


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...")


def printable(value: object) -> object:
    """One line of printable text (see the module docstring: why control characters are refused)."""
    if isinstance(value, str):
        found = control_character(value)
        if found:
            raise ValueError(
                f"{_shown(value)} holds the control character {found}; Exchange and Entra ID names are one line "
                "of printable text: remove it (in YAML, check for escapes such as \\n or \\t in double quotes)"
            )
    return value


def name(limit: int, what: str, url: str, empty: bool = False) -> Check:
    """A name reconciler sets: printable, at most `limit` characters (`what` names the parameter), not empty
    unless `empty`."""

    def check(value: object) -> object:
        if not isinstance(value, str):
            return value
        if not value.strip() and not (empty and value == ""):
            raise ValueError(f"{what} can't be empty or blank (it needs at least 1 character)")
        printable(value)
        length = utf16_length(value)
        if length > limit:
            raise ValueError(
                f"{_shown(value)} is {length} characters; {what} takes at most {limit} ({url}): shorten it"
            )
        return value

    return check


def reference(value: object) -> object:
    """A name of something that exists in the tenant (group, mailbox, role): not empty, printable."""
    if isinstance(value, str) and not value.strip():
        raise ValueError("can't be empty: name the object (its name, alias or address)")
    return printable(value)


def user_principal_name(value: object) -> object:
    """Entra ID's username policy (see UPN_* above)."""
    if not isinstance(value, str):
        return value
    printable(value)
    url = "https://learn.microsoft.com/entra/identity/authentication/concept-sspr-policy#username-policies"
    if value.count("@") != 1:
        raise ValueError(
            f"{_shown(value)} is not a user principal name: it is name@domain, with exactly one @ "
            "(for example cronofy-svc@contoso.onmicrosoft.com)"
        )
    local, domain = value.split("@")
    problems = []
    if utf16_length(value) > UPN_TOTAL:
        problems.append(f"it is {utf16_length(value)} characters; at most {UPN_TOTAL}")
    if not local or utf16_length(local) > UPN_LOCAL:
        problems.append(f"the part before @ is {utf16_length(local)} characters; 1 to {UPN_LOCAL}")
    if utf16_length(domain) > UPN_DOMAIN:
        problems.append(f"the part after @ is {utf16_length(domain)} characters; at most {UPN_DOMAIN}")
    bad = sorted({c for c in local if not UPN_LOCAL_CHARS.fullmatch(c)})
    if bad:
        problems.append(
            f"{' '.join(repr(c) for c in bad)} can't be used before the @ (allowed: A-Z a-z 0-9 ' . - _ ! # ^ ~)"
        )
    if local.endswith("."):
        problems.append("a period can't come right before the @")
    if not DOMAIN.match(domain):
        problems.append(f"{domain!r} is not a domain name such as contoso.onmicrosoft.com")
    if problems:
        raise ValueError(f"user principal name {_shown(value)}: {'; '.join(problems)} (Entra ID: {url})")
    return value


def alias(value: object) -> object:
    """An Exchange alias / Entra ID mailNickname (see ALIAS above)."""
    if not isinstance(value, str):
        return value
    printable(value)
    url = "https://learn.microsoft.com/powershell/module/exchange/new-distributiongroup"
    problems = []
    if not value or utf16_length(value) > ALIAS:
        problems.append(f"it is {utf16_length(value)} characters; 1 to {ALIAS}")
    bad = sorted({c for c in value if not ALIAS_CHARS.fullmatch(c)})
    if bad:
        problems.append(
            f"{' '.join(repr(c) for c in bad)} can't be used (allowed: letters, digits and "
            "! # $ % & ' * + - / = ? ^ _ ` { | } ~ .)"
        )
    if value.startswith(".") or value.endswith(".") or ".." in value:
        problems.append("each period must be between other characters (help.desk, not .help or help..desk)")
    if problems:
        raise ValueError(f"alias {_shown(value)}: {'; '.join(problems)} (Exchange -Alias: {url})")
    return value
