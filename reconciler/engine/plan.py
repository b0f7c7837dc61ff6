"""Plans: what will change. Frozen plain data (no client handles), rendered from `to_json()`.

Action  symbol  before          after           meaning
create  +       null            desired         the object does not exist; it will be made
update  ~       observed        desired         it exists; the `changed` attributes are set in place
replace -/+     observed        desired         a create-only attribute changed: delete, then create
delete  -       observed        null            no longer in the spec and created by reconciler
forget  .       recorded        null            no longer in the spec; left in the tenant, dropped from state
no-op           observed        observed        already as the spec says
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# 1.1 (additive): target, changes[].import_id, summary.adopt
# 1.2 (additive): resolved (the looked-up inputs), digest, wider_access, changes[].depends_on, summary.wider
# 1.3 (additive): changes[].interrupted
PLAN_FORMAT_VERSION = "1.3"
SENSITIVE = "(sensitive)"


class Action(StrEnum):
    NOOP = "no-op"
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    FORGET = "forget"

    @property
    def symbol(self) -> str:
        return {"create": "+", "update": "~", "replace": "-/+", "delete": "-", "forget": ".", "no-op": " "}[self]

    @property
    def changes_tenant(self) -> bool:
        return self in (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE)


class Change(BaseModel):
    model_config = ConfigDict(frozen=True)

    address: str
    kind: str
    action: Action
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    changed: list[str] = Field(default_factory=list)
    sensitive: list[str] = Field(default_factory=list)
    reason: str | None = None
    id: str | None = None  # the remote object id, when it exists
    manual: list[str] = Field(default_factory=list)  # commands an admin runs by hand (Exchange Server)
    widens: str | None = None  # how this change widens access to mailboxes, said loudly
    automated: bool = True  # False: apply cannot make this change itself, only print `manual`
    import_id: str | None = None  # it exists in the tenant but not in state: apply adopts it (or `reconciler import`)
    depends_on: list[str] = Field(default_factory=list)  # addresses that must succeed first (apply skips if not)
    # an interrupted apply wrote it without recording it (state kept its intent): apply records it as created by
    # reconciler, so removing it from the spec later deletes it
    interrupted: bool = False


class Finding(BaseModel):
    """Access wider than the spec: an object of the integration's principals that the spec does not ask for."""

    model_config = ConfigDict(frozen=True)

    address: str
    kind: str
    id: str | None = None
    message: str
    attributes: dict[str, Any] = Field(default_factory=dict)
    removed: bool = False  # the spec owns this access (e.g. access.exclusive): the plan removes it
    fix: list[str] = Field(default_factory=list)  # the PowerShell that removes it


class SpecRef(BaseModel):
    path: str
    sha256: str


class StateRef(BaseModel):
    path: str
    lineage: str | None  # None: no state file existed when the plan was made
    serial: int


class Summary(BaseModel):
    add: int = 0
    change: int = 0
    destroy: int = 0
    forget: int = 0
    manual: int = 0
    widen: int = 0
    adopt: int = 0  # objects that exist but are not in state yet (import_id set)
    wider: int = 0  # objects that give the integration access wider than the spec (wider_access)


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True)

    format_version: str = PLAN_FORMAT_VERSION
    tenant: str
    target: str | None = None  # exchange_online | exchange_server (None in plans saved before 1.1)
    spec: SpecRef
    state: StateRef
    changes: list[Change]
    summary: Summary
    warnings: list[str] = Field(default_factory=list)
    targets: list[str] = Field(default_factory=list)  # --target: the plan covers only these and their dependencies
    resolved: dict[str, dict[str, Any]] = Field(default_factory=dict)  # per kind: what resolve looked up
    wider_access: list[Finding] = Field(default_factory=list)
    digest: str | None = None  # sha256 over what apply acts on; an edited plan no longer matches it

    @property
    def has_changes(self) -> bool:
        return any(c.action is not Action.NOOP for c in self.changes)

    @property
    def differs(self) -> bool:
        """Whether the tenant or the state differ from the spec: changes to make, objects to adopt into state, or
        access wider than the spec (what `plan --detailed-exitcode` and `drift` exit 2 for)."""
        return self.has_changes or bool(self.wider_access) or any(c.import_id or c.interrupted for c in self.changes)

    def content_digest(self) -> str:
        """sha256 over everything apply acts on or checks: changes, resolved inputs, target, tenant, state ref."""
        content = self.model_dump(
            mode="json", include={"tenant", "target", "spec", "state", "changes", "resolved", "wider_access", "targets"}
        )
        for change in content["changes"]:  # a plan saved before 1.3 keeps its digest
            if not change.get("interrupted"):
                change.pop("interrupted", None)
        return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def sealed(self) -> Plan:
        return self.model_copy(update={"digest": self.content_digest()})

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def shown_json(self) -> dict[str, Any]:
        """What the human renderer reads: `to_json` without the no-op changes it does not show (a plan with nothing
        to do at 10,000 mailboxes holds 10,000 of them); those with something to say (adopt, interrupted) stay."""
        shown = [c for c in self.changes if c.action is not Action.NOOP or c.import_id or c.interrupted]
        return self.model_copy(update={"changes": shown}).to_json()


def summarize(changes: list[Change], wider: int = 0) -> Summary:
    count = {a: sum(1 for c in changes if c.action is a) for a in Action}
    return Summary(
        add=count[Action.CREATE] + count[Action.REPLACE],
        change=count[Action.UPDATE],
        destroy=count[Action.DELETE] + count[Action.REPLACE],
        forget=count[Action.FORGET],
        manual=sum(1 for c in changes if c.manual and c.action is not Action.NOOP),
        widen=sum(1 for c in changes if c.widens),
        adopt=sum(1 for c in changes if c.import_id),
        wider=wider,
    )
