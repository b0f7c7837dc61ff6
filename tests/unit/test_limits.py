"""Names over Microsoft's documented limits, or that Exchange / Entra ID cannot take, fail `validate` at their
file:line:column with the limit (reconciler/spec/limits.py); names within them pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import SpecError
from reconciler.spec import limits
from reconciler.spec.loader import load_spec

HEAD = "version: 1\ntenant: {domain: contoso.com}\n"
APP = "integration: {app_id: 10bb7e5b-b80b-4e6e-a209-f78581dbc79e}\n"


def _svc(**fields: str) -> str:
    values = {"user_principal_name": "svc@contoso.com", "display_name": "Svc", **fields}
    return "service_account:\n" + "".join(f"  {k}: {v}\n" for k, v in values.items())


def _access(**fields: str) -> str:
    # no folder permissions (last, so the fields' lines stay put): the unlicensed account could not hold any
    values = {"level": "restricted", "scope_group": "cronofy@contoso.com", **fields, "folder_permissions": "false"}
    return APP + "access:\n" + "".join(f"  {k}: {v}\n" for k, v in values.items())


def _problems(tmp_path: Path, text: str) -> list[SpecError]:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    return [p for p in caught.value.problems if isinstance(p, SpecError)]


def _one(tmp_path: Path, text: str, says: str, field: str, line: int) -> SpecError:
    problems = _problems(tmp_path, text)
    assert len(problems) == 1, [str(p) for p in problems]
    problem = problems[0]
    assert says in problem.summary, problem.summary
    assert problem.location is not None and problem.location.field == field
    assert problem.location.line == line and problem.location.column is not None
    return problem


def _loads(tmp_path: Path, text: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    load_spec(path)


X = "x"


@pytest.mark.parametrize(
    ("text", "says", "field", "line"),
    [
        (
            HEAD + _svc() + _access(scope_name=X * 65),
            "New-ManagementScope -Name takes at most 64",
            "access.scope_name",
            10,
        ),
        (
            HEAD + _svc() + _access(assignment_name=X * 65),
            "New-ManagementRoleAssignment -Name takes at most 64",
            "access.assignment_name",
            10,
        ),
        (
            HEAD + "room_lists:\n  - {name: " + X * 65 + "}\n",
            "New-DistributionGroup -Name (a room list) takes at most 64",
            "room_lists.0.name",
            4,
        ),
        (
            HEAD + "target: exchange_server\nexchange_server: {ews_url: https://x, username: a, password: '${env:P}'}\n"
            "role_assignments:\n  - {name: " + X * 65 + ", role: ApplicationImpersonation, user: s@contoso.com, "
            "scope: s}\n",
            "New-ManagementRoleAssignment -Name takes at most 64",
            "role_assignments.0.name",
            6,
        ),
        (
            HEAD + "target: exchange_server\nexchange_server: {ews_url: https://x, username: a, password: '${env:P}'}\n"
            "role_assignments:\n  - {name: a, role: ApplicationImpersonation, user: s@contoso.com, "
            "scope: " + X * 65 + "}\n",
            "New-ManagementScope -Name takes at most 64",
            "role_assignments.0.scope",
            6,
        ),
        (HEAD + _svc(display_name=X * 257), "displayName takes at most 256", "service_account.display_name", 5),
        (HEAD + _svc(given_name=X * 65), "givenName takes at most 64", "service_account.given_name", 6),
        (HEAD + _svc(surname=X * 65), "surname takes at most 64", "service_account.surname", 6),
        (HEAD + _svc(mail_nickname=X * 65), "it is 65 characters; 1 to 64", "service_account.mail_nickname", 6),
        (HEAD + _svc(mail_nickname="'help desk'"), "' ' can't be used", "service_account.mail_nickname", 6),
        (HEAD + _svc(mail_nickname="help..desk"), "each period must be between", "service_account.mail_nickname", 6),
        (
            HEAD + _svc(user_principal_name=X * 65 + "@contoso.com"),
            "the part before @ is 65 characters; 1 to 64",
            "service_account.user_principal_name",
            4,
        ),
        (
            HEAD + _svc(user_principal_name="svc@" + "d" * 40 + ".onmicrosoft.com"),
            "the part after @ is 56 characters; at most 48",
            "service_account.user_principal_name",
            4,
        ),
        (
            HEAD + _svc(user_principal_name="svc+cal@contoso.com"),
            "'+' can't be used before the @",
            "service_account.user_principal_name",
            4,
        ),
        (
            HEAD + _svc(user_principal_name="svc.@contoso.com"),
            "a period can't come right before the @",
            "service_account.user_principal_name",
            4,
        ),
        (
            HEAD + _svc(user_principal_name="a@b@contoso.com"),
            "exactly one @",
            "service_account.user_principal_name",
            4,
        ),
        (
            HEAD + _svc(user_principal_name=".svc@contoso.com"),
            "becomes the account's mail nickname",
            "service_account.user_principal_name",
            4,
        ),
        (
            HEAD + _svc() + _access(scope_name='"Cronofy\\nScope"'),
            "control character U+000A",
            "access.scope_name",
            10,
        ),
        (
            HEAD + 'calendar_permissions:\n  - {mailbox: "a@contoso.com\\r", grantee: b@contoso.com, '
            "access_rights: Reviewer}\n",
            "control character U+000D",
            "calendar_permissions.0.mailbox",
            4,
        ),
        (HEAD + _svc() + _access(scope_group="' '"), "can't be empty", "access.scope_group", 9),
    ],
)
def test_refused_with_the_limit_at_the_field(tmp_path: Path, text: str, says: str, field: str, line: int) -> None:
    problem = _one(tmp_path, text, says, field, line)
    assert any(word in problem.summary for word in ("learn.microsoft.com", "control", "empty", "exactly one @"))


def test_the_limit_counts_utf16_code_units(tmp_path: Path) -> None:
    """.NET counts a character outside the BMP twice: 32 emoji are 64 UTF-16 units, 33 are 66."""
    _loads(tmp_path, HEAD + _svc() + _access(scope_name="'" + "\U0001f4c5" * 32 + "'"))
    _one(
        tmp_path,
        HEAD + _svc() + _access(scope_name="'" + "\U0001f4c5" * 33 + "'"),
        "is 66 characters",
        "access.scope_name",
        10,
    )


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = HEAD + _svc(display_name=X * 257, surname=X * 65) + _access(scope_name=X * 65, assignment_name=X * 65)
    fields = sorted(p.location.field or "" for p in _problems(tmp_path, text) if p.location)
    assert fields == [
        "access.assignment_name",
        "access.scope_name",
        "service_account.display_name",
        "service_account.surname",
    ]


def test_names_at_the_limits_pass(tmp_path: Path) -> None:
    local = "a" * 64
    text = (
        HEAD
        + _svc(
            user_principal_name=f"{local}@{'d' * 36}.example.com",  # 64 + 1 + 48 = 113
            display_name=X * 256,
            given_name=X * 64,
            surname="''",
            mail_nickname="o'brien.help-desk_{1}",
        )
        + _access(scope_name="'" + "S" * 64 + "'", assignment_name="'O''Brien \u2018scope\u2019 $(x) `n'")
        + "room_lists:\n  - {name: '"
        + "R" * 64
        + "', rooms: [\"Board room\", 'O''Brien room']}\n"
    )
    _loads(tmp_path, text)


def test_the_documented_numbers() -> None:
    assert (limits.UPN_TOTAL, limits.UPN_LOCAL, limits.UPN_DOMAIN) == (113, 64, 48)
    assert (limits.USER_DISPLAY_NAME, limits.USER_MAIL_NICKNAME, limits.ALIAS) == (256, 64, 64)
    assert (limits.MANAGEMENT_SCOPE_NAME, limits.ROLE_ASSIGNMENT_NAME, limits.DISTRIBUTION_GROUP_NAME) == (64, 64, 64)


def test_the_example_specs_still_load() -> None:
    from tests.conftest import REPO

    for spec in sorted((REPO / "specs").glob("*.yaml")):
        try:
            load_spec(spec)
        except SpecError as exc:  # only environment-dependent problems are acceptable here
            assert all("limit" not in p.summary and "characters" not in p.summary for p in exc.problems), exc
