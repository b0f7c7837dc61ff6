"""diff() as data tables: {desired, observed, record} -> action, changed attributes."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.engine.diff import diff
from reconciler.engine.plan import SENSITIVE, Action
from reconciler.resources import KINDS
from reconciler.resources.base import Desired, Item, Observed
from reconciler.state.model import ResourceRecord

USER = KINDS["user"]
LICENSES = KINDS["license_assignment"]
UPN = "svc@contoso.com"


def user(**attrs: Any) -> Desired:
    base = {"user_principal_name": UPN, "display_name": "Svc", "account_enabled": True}
    return Desired("user", "service_account", {**base, **attrs}, {"password": "${env:PW}"})


def seen(**attrs: Any) -> Observed:
    base = {"user_principal_name": UPN, "display_name": "Svc", "account_enabled": True, "surname": "x"}
    return Observed("user.service_account", "id-1", {**base, **attrs})


def record(created: bool) -> ResourceRecord:
    return ResourceRecord(address="user.service_account", kind="user", id="id-1", created_by_reconciler=created)


CASES = [
    # (name, kind, desired, observed, record, action, changed)
    ("absent -> create", USER, user(), None, None, Action.CREATE, []),
    ("equal -> no-op", USER, user(), seen(), None, Action.NOOP, []),
    ("UPN case only -> no-op", USER, user(user_principal_name="SVC@Contoso.com"), seen(), None, Action.NOOP, []),
    ("attribute not in spec ignored", USER, user(), seen(surname="other"), None, Action.NOOP, []),
    ("display name -> update", USER, user(display_name="New"), seen(), None, Action.UPDATE, ["display_name"]),
    (
        "two attributes",
        USER,
        user(display_name="New", account_enabled=False),
        seen(),
        None,
        Action.UPDATE,
        ["account_enabled", "display_name"],
    ),
    ("gone, created by us -> delete", USER, None, seen(), record(True), Action.DELETE, []),
    ("gone, adopted -> forget", USER, None, seen(), record(False), Action.FORGET, []),
    ("gone everywhere -> forget", USER, None, None, record(True), Action.FORGET, []),
    (
        "license order ignored",
        LICENSES,
        Desired("license_assignment", "s", {"user": UPN, "skus": ["A", "B"]}),
        Observed("license_assignment.s", UPN, {"user": UPN, "skus": ["B", "A"]}),
        None,
        Action.NOOP,
        [],
    ),
    (
        "null licenses equal empty",
        LICENSES,
        Desired("license_assignment", "s", {"user": UPN, "skus": []}),
        Observed("license_assignment.s", UPN, {"user": UPN, "skus": None}),
        None,
        Action.NOOP,
        [],
    ),
    (
        "license removed",
        LICENSES,
        Desired("license_assignment", "s", {"user": UPN, "skus": []}),
        Observed("license_assignment.s", UPN, {"user": UPN, "skus": ["ENTERPRISEPACK"]}),
        None,
        Action.UPDATE,
        ["skus"],
    ),
]


@pytest.mark.parametrize(
    ("name", "kind", "desired", "observed", "rec", "action", "changed"), CASES, ids=[c[0] for c in CASES]
)
def test_diff_table(
    name: str, kind: Any, desired: Any, observed: Any, rec: Any, action: Action, changed: list[str]
) -> None:
    change = diff(Item(kind, desired, observed, rec))
    assert change.action is action
    assert change.changed == changed


def test_create_hides_the_password_and_shows_write_only_values() -> None:
    change = diff(Item(USER, user(), None, None))
    assert change.after is not None and change.after["password"] == SENSITIVE
    assert change.sensitive == ["password"]


def test_deleted_outside_gives_a_reason() -> None:
    change = diff(Item(USER, user(), None, record(True)))
    assert change.action is Action.CREATE and change.reason and "made again" in change.reason
