"""The one small interface every resource kind implements.

A kind module defines a `ResourceKind` subclass and registers it in `resources/__init__.py`:

    kind              "user", "license_assignment", ...
    desired(ctx)      the instances the spec asks for (Desired: address, attributes, dependencies)
    read(ctx, d, r)   the observed object (Observed) or None when it does not exist
    create(ctx, d)    make it; returns what was made
    update(ctx, d, id, changed)  change the named attributes in place
    delete(ctx, r)    remove an object recorded in state as created by reconciler
    create_only       attributes whose change means replace (-/+)
    write_only        attributes sent on create but never readable back (not compared, e.g. password)
    sensitive         attributes whose values are never shown or recorded
    permissions(spec) what reconciler's own identity needs to read and write this kind for a spec (Permission)

Attributes are plain JSON values (str, bool, list, dict) named as in the spec, so diffs, plans
and state are plain data.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from reconciler.clients.graph import required_permission
from reconciler.clients.session import Clients
from reconciler.errors import Location, ReconcilerError
from reconciler.spec.loader import LoadedSpec
from reconciler.spec.models import Spec, Target
from reconciler.state.model import ResourceRecord

T = TypeVar("T")


@dataclass(frozen=True)
class Desired:
    """One object the spec asks for."""

    kind: str
    name: str
    attributes: dict[str, Any]
    write_only: dict[str, Any] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    location: Location | None = None

    @property
    def address(self) -> str:
        return f"{self.kind}.{self.name}"


def record_name(record: ResourceRecord) -> str:
    """The name part of a recorded address (`kind.name`)."""
    return record.address.split(".", 1)[1]


@dataclass(frozen=True)
class Observed:
    """One object as the tenant shows it."""

    id: str | None
    attributes: dict[str, Any]


@dataclass(frozen=True)
class Write:
    """One create or in-place update, for `write_many`."""

    action: str  # "create" | "update"
    desired: Desired
    remote_id: str | None = None
    changed: tuple[str, ...] = ()


# -- what reconciler's own identity needs (engine/permissions.py, `reconciler permissions SPEC`) ------------
GRAPH_PERMISSION = "Microsoft Graph application permission"
EXCHANGE_APP_PERMISSION = "Office 365 Exchange Online application permission"
EXCHANGE_ONLINE_ROLE = "Exchange Online role"
EXCHANGE_SERVER_ROLE = "Exchange Server role"
ENTRA_ROLE = "Microsoft Entra role"
READ, APPLY = "read", "apply"  # READ: plan, drift, export, verify; APPLY: what apply needs in addition
RECONCILER_APP = "reconciler's app (tenant.auth)"
EWS_ACCOUNT = "the EWS account (exchange_server.username)"
SHELL_ADMIN = "the admin who runs the printed Exchange Management Shell commands"
READ_COMMANDS = ("plan", "drift", "import", "apply")
APPLY_COMMANDS = ("apply",)
# Exchange role names (the same on Exchange Online and Exchange Server)
VIEW_ONLY_RECIPIENTS = "View-Only Recipients"
VIEW_ONLY_CONFIGURATION = "View-Only Configuration"
MAIL_RECIPIENTS = "Mail Recipients"
DISTRIBUTION_GROUPS = "Distribution Groups"
ORGANIZATION_CONFIGURATION = "Organization Configuration"
ROLE_MANAGEMENT = "Role Management"
APPLICATION_IMPERSONATION = "ApplicationImpersonation"


@dataclass(frozen=True)
class Permission:
    """One permission or role that reconciler's own identity needs for a kind (see ResourceKind.permissions).

    api         GRAPH_PERMISSION, EXCHANGE_APP_PERMISSION, EXCHANGE_ONLINE_ROLE, EXCHANGE_SERVER_ROLE, ENTRA_ROLE
    name        as Entra or Exchange names it: "User.Read.All", "View-Only Recipients"
    needed_for  READ (plan, drift, export, verify) or APPLY (what apply needs in addition)
    calls       what it is for: Graph calls ("GET /users/{upn}"), cmdlets ("New-ManagementScope") or EWS operations
    doc         where Microsoft (for Exchange roles also Microsoft365DSC's per-resource settings.json) says so
    owner       the kind, or the command (export, verify), that needs it
    holder      who must hold it: RECONCILER_APP, EWS_ACCOUNT (Exchange Server) or SHELL_ADMIN
    replaces    the read permission it makes unnecessary once granted (User.ReadWrite.All replaces User.Read.All)
    note        a caveat said next to it
    commands    the reconciler commands that need it (default: READ_COMMANDS, or APPLY_COMMANDS)
    """

    api: str
    name: str
    needed_for: str
    calls: tuple[str, ...]
    doc: str
    owner: str = ""
    holder: str = RECONCILER_APP
    replaces: str | None = None
    note: str | None = None
    commands: tuple[str, ...] = ()

    @property
    def used_by(self) -> tuple[str, ...]:
        return self.commands or (READ_COMMANDS if self.needed_for == READ else APPLY_COMMANDS)


def graph_permission(
    owner: str,
    needed_for: str,
    calls: tuple[str, ...],
    doc: str,
    *,
    replaces: str | None = None,
    note: str | None = None,
    commands: tuple[str, ...] = (),
) -> Permission:
    """The Graph application permission for `calls`, named by clients/graph.py's PERMISSIONS table (as the 403
    message names it), so `reconciler permissions` and a refused call always say the same name."""
    names = {required_permission(call) for call in calls}
    if len(names) != 1 or None in names:
        raise ValueError(f"{owner}: {calls} need {sorted(map(str, names))}, not one Graph permission of PERMISSIONS")
    name = str(names.pop())
    return Permission(GRAPH_PERMISSION, name, needed_for, calls, doc, owner, RECONCILER_APP, replaces, note, commands)


@dataclass
class Context:
    """What a resource operation may use: the tenant's clients and the loaded spec (for secrets)."""

    clients: Clients
    spec: LoadedSpec
    cache: dict[str, Any] = field(default_factory=dict)  # lookups shared by the kinds during one run
    parallelism: int = 8  # batches in flight at once; each mailbox sees one request at a time
    batch: bool = True  # read and write in bulk ($batch); False: one request per object
    on_read: Callable[[int, int, str], None] | None = None  # refresh progress: (objects read, of total, kind)
    reading: tuple[int, int, str] = (0, 0, "")  # set by refresh: (read before this kind, total, this kind)

    def read_some(self, count: int) -> None:
        """A kind reading in bulk says `count` more of its objects have been read (for the progress bar)."""
        done, total, kind = self.reading
        self.reading = (done + count, total, kind)
        if self.on_read is not None:
            self.on_read(done + count, total, kind)

    def cached(self, key: str, load: Callable[[], T]) -> T:
        """`load()` once per run under `key`; later calls get the same answer."""
        if key not in self.cache:
            self.cache[key] = load()
        value: T = self.cache[key]
        return value


class ResourceKind(ABC):
    kind: ClassVar[str]
    create_only: ClassVar[frozenset[str]] = frozenset()
    write_only: ClassVar[frozenset[str]] = frozenset()
    sensitive: ClassVar[frozenset[str]] = frozenset()
    # Whether removing it from the spec removes it from the tenant (else reconciler only stops managing it).
    deletable: ClassVar[bool] = True
    # Whether instances are independent of each other, so apply may hand many to `write_many` at once.
    bulk: ClassVar[bool] = False
    # Whether Exchange Server offers no API for this kind (apply prints the `manual` commands instead).
    manual_on_exchange_server: ClassVar[bool] = False

    @abstractmethod
    def desired(self, ctx: Context) -> list[Desired]:
        """The instances the spec asks for. May read the tenant to resolve names (a group's members or DN)."""

    @abstractmethod
    def read(self, ctx: Context, desired: Desired | None, record: ResourceRecord | None) -> Observed | None: ...

    def read_many(
        self, ctx: Context, items: list[tuple[Desired | None, ResourceRecord | None]]
    ) -> list[Observed | None]:
        """`read` for many instances at once; kinds with thousands of instances read them in bulk."""
        return [self.read(ctx, desired, record) for desired, record in items]

    def write_many(self, ctx: Context, writes: list[Write]) -> list[Observed | ReconcilerError]:
        """Creates and updates of independent instances; one result (or the error) per write, in order.

        Kinds with thousands of instances write them in bulk; this default writes one at a time.
        """
        results: list[Observed | ReconcilerError] = []
        for write in writes:
            try:
                if write.action == "create":
                    results.append(self.create(ctx, write.desired))
                else:
                    results.append(self.update(ctx, write.desired, write.remote_id, list(write.changed)))
            except ReconcilerError as exc:
                results.append(exc)
        return results

    @abstractmethod
    def create(self, ctx: Context, desired: Desired) -> Observed: ...

    @abstractmethod
    def update(self, ctx: Context, desired: Desired, remote_id: str | None, changed: list[str]) -> Observed: ...

    def manual(self, ctx: Context, desired: Desired, action: str) -> list[str]:
        """Commands an admin must run by hand for this change (targets without an API for it); [] if none."""
        return []

    def widens(self, before: dict[str, Any] | None, after: dict[str, Any] | None) -> str | None:
        """How this change widens access to mailboxes (said loudly in the plan), or None."""
        return None

    def automated(self, ctx: Context) -> bool:
        """False where the target offers no API for this kind: apply then prints `manual` commands instead."""
        return not (self.manual_on_exchange_server and ctx.spec.spec.target is Target.EXCHANGE_SERVER)

    def warnings(self, ctx: Context) -> list[str]:
        """Things the plan must say even when nothing changes (e.g. a deadline of the platform)."""
        return []

    def check_create(self, ctx: Context, desired: Desired) -> None:
        """Raise a SpecError at plan time when `create` could not succeed (e.g. a secret is unset)."""
        return None

    def permissions(self, spec: Spec) -> list[Permission]:
        """What reconciler's own identity needs to read (READ: plan, drift) and change (APPLY) this kind for `spec`,
        from the spec alone (the tenant is not read); [] when the spec asks nothing of this kind."""
        return []

    def delete(self, ctx: Context, record: ResourceRecord) -> None:
        raise NotImplementedError(f"{self.kind} cannot be deleted")

    def normalize(self, attributes: dict[str, Any]) -> dict[str, Any]:
        """Attributes in the form used for comparison (case, order, empty vs null)."""
        return attributes

    def powershell(self, change: dict[str, Any]) -> list[str]:
        """One planned change (its JSON: action, before, after, changed, id) as PowerShell, for review or hand-apply.

        Kinds override it with their Exchange Online / Microsoft Graph cmdlets (render/powershell.py writes the
        script); it works from the change alone and never reads the tenant. Default: the change's `manual`
        Exchange Management Shell commands, else a comment that there is no PowerShell equivalent.
        """
        return list(change.get("manual") or []) or [f"# {change['address']}: no PowerShell equivalent"]
