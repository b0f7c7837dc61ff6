"""The one small interface every resource kind implements (see ARCHITECTURE.md for the flow).

A kind is a typed attributes model, one backend per target, and public hooks; it is registered in
`resources/__init__.py`. Data flows one way through it:

    resolve(spec, lookups)          the names the spec gives -> what the tenant calls them (recorded in the plan)
    desired(spec, resolved)         the instances the spec asks for: a pure function of its two inputs
    backend(target).read(ctx, q)    a snapshot of every object of this kind that concerns the spec's principals
    match(desired, observed, rec)   which observed object is which desired / recorded one; the rest are extras
    compare(want, have)             the attributes that differ, and the whole object after the change
    backend(target).create/update/delete(ctx, change)   carry out exactly `change.after` (or remove `before`)

Hooks that other features call (never the kinds' private names):
    permissions(spec)   what reconciler's own identity needs        powershell(change)  the change as commands
    widens / wider      how a change or an unmanaged object opens access beyond the spec
    cause               why an object differs when the kind can tell (a dependency replaced by hand)
    held / concerned    why an object the plan would remove stays for now; whether to read a kind the spec replaces
    affects / identity  who a drift entry concerns, and the attributes an address names
    export(ctx)         the tenant's objects of this kind, for `reconciler export`

Attributes travel as plain JSON (the plan and state formats); each kind parses them into its pydantic
`Attrs` model where it uses them.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from reconciler.clients.graph import required_permission
from reconciler.clients.session import Clients
from reconciler.errors import Location, NotStarted, ReconcilerError
from reconciler.spec.loader import LoadedSpec
from reconciler.spec.models import Spec, Target
from reconciler.state.model import ResourceRecord

if TYPE_CHECKING:
    from reconciler.engine.plan import Change
    from reconciler.resources.lookups import Lookups

A = TypeVar("A", bound=BaseModel)


class Attributes(BaseModel):
    """Base of every kind's typed attributes model: frozen, unknown names refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


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
    """One object as the tenant shows it, under the address its kind gives it."""

    address: str
    id: str | None
    attributes: dict[str, Any]

    @property
    def name(self) -> str:
        return self.address.split(".", 1)[1]


@dataclass(frozen=True)
class Query:
    """What a backend's read is about: the spec's objects of this kind and those state records.

    A backend reads every object of its kind that concerns the principals these name (the service
    account, the integration's app, the mailboxes, the room lists), not only the ones they want.
    """

    desired: tuple[Desired, ...]
    records: tuple[ResourceRecord, ...]


@dataclass(frozen=True)
class Item:
    """One address as seen in the spec, the tenant and the state."""

    kind: ResourceKind
    desired: Desired | None
    observed: Observed | None
    record: ResourceRecord | None

    @property
    def address(self) -> str:
        if self.desired is not None:
            return self.desired.address
        if self.record is not None:
            return self.record.address
        return self.observed.address if self.observed is not None else "?"


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
    """What a backend may use during one run: the tenant's clients, the typed lookups, the loaded spec (for
    write-only secrets) and the resolved inputs the plan recorded."""

    clients: Clients
    spec: LoadedSpec
    lookups: Lookups
    resolved: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # per kind, set by resolve
    parallelism: int = 8  # batches in flight at once; each mailbox sees one request at a time
    batch: bool = True  # read and write in bulk ($batch); False: one request per object
    on_read: Callable[[int, int, str], None] | None = None  # refresh progress: (objects read, of total, kind)
    reading: tuple[ReadCount, str] | None = None  # set by refresh on each kind's own view: (the count, this kind)
    stopping: Callable[[], bool] = lambda: False  # set by apply: True once interrupted (start no new write)

    @property
    def target(self) -> Target:
        return self.spec.spec.target

    def inputs(self, kind: str) -> Mapping[str, Any]:
        """The resolved inputs of one kind (what resolve looked up for it)."""
        return self.resolved.get(kind, {})

    def read_some(self, count: int) -> None:
        """A backend reading in bulk says `count` more of its objects have been read (for the progress bar)."""
        if self.reading is not None:
            counter, kind = self.reading
            counter.add(kind, count)


class ReadCount:
    """Refresh's progress over the kinds it reads side by side: objects read of the total expected, reported to
    `on_read` (a kind's total is known once it has resolved, so the total grows while the first kinds read)."""

    def __init__(self, on_read: Callable[[int, int, str], None] | None) -> None:
        self._on_read = on_read
        self._lock = threading.Lock()
        self._read: dict[str, int] = {}
        self._expected = 0

    def expect(self, count: int) -> None:
        with self._lock:
            self._expected += count

    def add(self, kind: str, count: int) -> None:
        """`count` more objects of `kind` read."""
        self._report(kind, lambda read: read + count)

    def finish(self, kind: str, count: int) -> None:
        """Every object of `kind` read: `count` in all (whatever it reported on the way)."""
        self._report(kind, lambda _: count)

    def stop(self) -> None:
        """Report nothing more (refresh ended, e.g. interrupted, while threads of its kinds may still be reading)."""
        with self._lock:
            self._on_read = None

    def _report(self, kind: str, update: Callable[[int], int]) -> None:
        with self._lock:
            self._read[kind] = update(self._read.get(kind, 0))
            done = sum(self._read.values())
            total, on_read = max(self._expected, done), self._on_read
        if on_read is not None:
            on_read(done, total, kind)


class Backend(ABC, Generic[A]):
    """How one kind reads and writes on one target (Exchange Online or Exchange Server), chosen once per run."""

    automated: ClassVar[bool] = True  # False: the target has no API; apply prints `manual` commands instead

    def __init__(self, attrs: type[A]) -> None:
        self.attrs = attrs

    def parse(self, attributes: Mapping[str, Any] | None) -> A:
        """A change's `before`/`after` (plain JSON) as the kind's typed model."""
        return self.attrs.model_validate({k: v for k, v in (attributes or {}).items() if k in self.attrs.model_fields})

    @abstractmethod
    def read(self, ctx: Context, query: Query) -> list[Observed]: ...

    def create(self, ctx: Context, change: Change) -> Observed:
        raise ReconcilerError(f"{change.address}: this target cannot create it")

    def update(self, ctx: Context, change: Change) -> Observed:
        raise ReconcilerError(f"{change.address}: this target cannot change it")

    def delete(self, ctx: Context, change: Change) -> None:
        raise ReconcilerError(f"{change.address}: this target cannot delete it")

    def write_many(self, ctx: Context, changes: Sequence[Change]) -> list[Observed | ReconcilerError]:
        """Creates and updates of independent instances; one result (or the error) per change, in order.

        Kinds with thousands of instances write them in bulk; this default writes one at a time. Once apply is
        interrupted (`ctx.stopping()`), no new write starts: the changes left get NotStarted.
        """
        results: list[Observed | ReconcilerError] = []
        for change in changes:
            if ctx.stopping():
                results.append(NotStarted(f"{change.address}: not started (apply was interrupted)"))
                continue
            try:
                results.append(
                    self.create(ctx, change) if change.action.value == "create" else self.update(ctx, change)
                )
            except ReconcilerError as exc:
                results.append(exc)
        return results

    def manual(self, change: Change) -> list[str]:
        """Commands an admin runs by hand for this change (targets without an API for it); [] if none."""
        return []

    def unseen(self) -> str | None:
        """What drift says of an object this backend could not see, when that is all it can tell (e.g. Exchange
        Server, where EWS only shows whether impersonation works); None: "does not exist"."""
        return None

    def record_manual(self, change: Change) -> Observed | None:
        """What state records when apply prints this change's `manual` commands; None (the default): nothing until
        the next plan confirms the change and an apply adopts it. A backend that can read only part of the object
        (Exchange Server's room booking: AutomateProcessing over EWS) records what the commands set, so later plans
        take the part they cannot read from the record once the part they can read confirms the commands ran."""
        return None

    def caveat(self) -> str | None:
        """What drift says next to a changed object of this backend when it reads only part of it, or None."""
        return None


class Unsupported(Backend[A]):
    """A target on which the kind does not exist (e.g. the Entra service account on Exchange Server)."""

    def read(self, ctx: Context, query: Query) -> list[Observed]:
        return []


@dataclass(frozen=True)
class Fragment:
    """A kind's own top-level section of an exported spec (`reconciler export`), with what it could not say."""

    key: str  # the spec's top-level key, e.g. "room_lists"
    value: Any  # plain data or ruamel CommentedMap/CommentedSeq (kept in block style)
    comment: str | None = None  # written above the key
    notes: tuple[str, ...] = ()  # "not exported: ..." lines for the file's header


@dataclass(frozen=True)
class Comparison:
    """What `compare` found: the attributes that differ, and the whole object as it will be after the change."""

    changed: list[str]
    after: dict[str, Any]


class ResourceKind(ABC):
    kind: ClassVar[str]
    create_only: ClassVar[frozenset[str]] = frozenset()
    write_only: ClassVar[frozenset[str]] = frozenset()
    sensitive: ClassVar[frozenset[str]] = frozenset()
    # Whether removing it from the spec removes it from the tenant (else reconciler only stops managing it).
    deletable: ClassVar[bool] = True
    # Whether instances are independent of each other, so apply may hand many to `write_many` at once.
    bulk: ClassVar[bool] = False

    @abstractmethod
    def backend(self, target: Target) -> Backend[Any]:
        """The backend for `target`; the engine asks once per run."""

    def resolve(self, loaded: LoadedSpec, lookups: Lookups) -> dict[str, Any]:
        """Look up what the spec names (group members, DNs, SKU ids, rooms): JSON, recorded in the plan.

        A name the tenant does not know is a SpecError at the spec's field, never drift."""
        return {}

    @abstractmethod
    def desired(self, loaded: LoadedSpec, resolved: Mapping[str, Any]) -> list[Desired]:
        """The instances the spec asks for: a pure function of the spec and this kind's resolved inputs."""

    def match(
        self, desired: Sequence[Desired], observed: Sequence[Observed], records: Sequence[ResourceRecord]
    ) -> tuple[list[Item], list[Observed]]:
        """Pair the spec's objects and the records with what the tenant shows, by address; the observed objects
        nothing claims are returned apart (extras: access reconciler does not manage)."""
        seen = {o.address: o for o in observed}
        by_record = {r.address: r for r in records}
        items = [Item(self, d, seen.get(d.address), by_record.get(d.address)) for d in desired]
        wanted = {d.address for d in desired}
        items += [Item(self, None, seen.get(r.address), r) for r in records if r.address not in wanted]
        claimed = wanted | set(by_record)
        return items, [o for o in observed if o.address not in claimed]

    def compare(self, desired: Desired, observed: Observed) -> Comparison:
        """The spec's attributes that differ from the tenant's (normalized), and the object after the change."""
        return Comparison(
            self.changed(desired.attributes, observed.attributes), {**observed.attributes, **desired.attributes}
        )

    def changed(self, want: dict[str, Any], have: dict[str, Any]) -> list[str]:
        """The attributes of `want` whose normalized value differs in `have`, sorted."""
        want_n = self.normalize(dict(want))
        have_n = self.normalize({k: have.get(k) for k in want})
        return sorted(k for k in want if want_n.get(k) != have_n.get(k))

    def normalize(self, attributes: dict[str, Any]) -> dict[str, Any]:
        """Attributes in the form used for comparison (case, order, empty vs null)."""
        return attributes

    def widens(self, before: dict[str, Any] | None, after: dict[str, Any] | None) -> str | None:
        """How this change widens access to mailboxes (said loudly in the plan), or None."""
        return None

    def cause(self, changed: Sequence[str], before: Mapping[str, Any], after: Mapping[str, Any]) -> str | None:
        """Why an object differs, when the kind can tell (e.g. a scope whose group was deleted and made again under
        the same name): the plan's reason and drift's message for the update; None: the difference speaks for itself.
        """
        return None

    def wider(self, observed: Observed, loaded: LoadedSpec) -> str | None:
        """How an object of this kind that the spec does not ask for opens access beyond the spec, or None."""
        return None

    def owns_wider(self, loaded: LoadedSpec) -> bool:
        """Whether the spec says it owns this access, so `wider` objects are removed (else only reported)."""
        return False

    def concerned(self, loaded: LoadedSpec) -> bool:
        """Whether refresh reads this kind even when the spec asks for none of it and state records none: objects of
        the spec's principals the spec replaces (e.g. the access policies of an app moving to RBAC for Applications)."""
        return False

    def held(self, observed: Observed, loaded: LoadedSpec) -> str | None:
        """Why an object the plan would remove stays for now (a precondition the tenant does not meet yet), or None.
        The plan keeps it and says why; a later plan removes it once the reason is gone."""
        return None

    def warnings(self, loaded: LoadedSpec) -> list[str]:
        """Things the plan must say even when nothing changes (e.g. a deadline of the platform)."""
        return []

    def check_create(self, loaded: LoadedSpec, desired: Desired) -> None:
        """Raise a SpecError at plan time when a create could not succeed (e.g. a secret is unset)."""
        return None

    def check_update(self, loaded: LoadedSpec, desired: Desired, changed: list[str]) -> None:
        """Raise a SpecError at plan time when an update of `changed` could not succeed."""
        return None

    def permissions(self, spec: Spec) -> list[Permission]:
        """What reconciler's own identity needs to read (READ: plan, drift) and change (APPLY) this kind for `spec`,
        from the spec alone (the tenant is not read); [] when the spec asks nothing of this kind."""
        return []

    def identity(self, name: str) -> dict[str, Any]:
        """The attributes an address's name part stands for (`calendar_permission.<mailbox>/<grantee>`)."""
        return {}

    def affects(self, name: str, attributes: Mapping[str, Any]) -> list[tuple[str, str | None]]:
        """Who a drift entry of this object concerns, as (words, value) parts: [("mailbox", "a@x")]."""
        return [("", name)]

    def export(self, ctx: Context) -> Fragment | None:
        """This kind's section of a spec describing what the tenant has now (`reconciler export`), or None.

        Kinds that the `access` preset spans (service account, licenses, scope, assignments, policies, folder
        permissions) are exported together by engine/export.py, the inverse of spec/presets.py."""
        return None

    def powershell(self, change: dict[str, Any]) -> list[str]:
        """One planned change (its JSON: action, before, after, changed, id) as PowerShell, for review or hand-apply.

        Kinds override it with their Exchange Online / Microsoft Graph cmdlets (render/powershell.py writes the
        script); it works from the change alone and never reads the tenant. Default: the change's `manual`
        Exchange Management Shell commands, else a comment that there is no PowerShell equivalent.
        """
        return list(change.get("manual") or []) or [f"# {change['address']}: no PowerShell equivalent"]
