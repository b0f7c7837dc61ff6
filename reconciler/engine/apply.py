"""Apply: carry out a plan's changes in order, exactly as planned, recording each in state as soon as it is done.

Each change's `after` is what is written (`before`, for a removal, is what is removed); the spec is read
only for write-only secrets. A saved plan is applied only while it is current, checked before the first write:
its digest (an edited plan is refused), the spec and state it was made from, and the tenant itself (resolve
and refresh again: every object the plan touches must still be as the plan saw it).

Before each write (or bulk chunk) state records the intent to make it, and its result clears it; a signal lets
the writes in flight finish (engine/interrupt.py), and an intent left by one that did not is re-read by the next plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from reconciler.engine.interrupt import Interrupted, Interrupts
from reconciler.engine.plan import SENSITIVE, Action, Change, Plan
from reconciler.engine.resolve import differences
from reconciler.errors import NotStarted, PlanError, ReconcilerError
from reconciler.resources import KINDS
from reconciler.resources.base import Context, Observed
from reconciler.state.backend import StateBackend
from reconciler.state.model import Intent, ResourceRecord, State

Progress = Callable[[Change, str], None]
MAKE_AGAIN = "run `reconciler plan --out FILE` again and review the new plan"


def check_sealed(plan: Plan) -> None:
    """Refuse a saved plan whose content does not match its digest (edited by hand, or made before 1.2)."""
    if plan.digest is None:
        raise PlanError(
            "the saved plan has no digest (made by an older reconciler), so it cannot be checked", MAKE_AGAIN
        )
    if plan.digest != plan.content_digest():
        raise PlanError(
            "the saved plan was changed after it was made (its content no longer matches its digest)",
            "a plan is applied exactly as it was reviewed, or not at all; " + MAKE_AGAIN,
        )


def check_current(plan: Plan, spec_sha256: str, state: State, backend: StateBackend) -> None:
    """Raise PlanError when a saved plan was edited or no longer matches the spec or the state."""
    check_sealed(plan)
    if plan.spec.sha256 != spec_sha256:
        raise PlanError(f"stale plan: the spec {plan.spec.path} changed since the plan was made", MAKE_AGAIN)
    exists = backend.exists()
    made_on = (plan.state.lineage, plan.state.serial)
    now = (state.lineage if exists else None, state.serial if exists else 0)
    if made_on != now:
        raise PlanError(
            f"stale plan: state {backend.location} changed since the plan was made "
            f"(plan: serial {plan.state.serial}, state now: serial {now[1]})",
            "another apply ran in between; " + MAKE_AGAIN,
        )


def check_tenant(saved: Plan, fresh: Plan) -> None:
    """Refuse, before any write, a saved plan whose inputs or touched objects moved in the tenant since."""
    moved = [f"looked up: {line}" for line in differences(saved.resolved, fresh.resolved)]
    now = {c.address: c for c in fresh.changes}
    for change in saved.changes:
        if change.action is Action.NOOP and not change.import_id:
            continue
        current = now.get(change.address)
        if current is None or not _same(change, current):
            was = "absent" if change.before is None else "as planned"
            moved.append(f"{change.address}: {was} when planned, {_describe(current)} now")
    fresh_wider = {f.address for f in fresh.wider_access}
    saved_wider = {w.address for w in saved.wider_access}
    moved += [
        f"{f.address}: new access wider than the spec" for f in fresh.wider_access if f.address not in saved_wider
    ]
    gone = [w.address for w in saved.wider_access if w.removed and w.address not in fresh_wider]
    moved += [f"{address}: the wider access the plan removes is gone already" for address in gone]
    if moved:
        raise PlanError(
            f"the tenant changed since this plan was made; nothing was applied ({len(moved)} difference(s))",
            "\n  ".join([*moved, "run `reconciler plan --out FILE` again, review it, then apply it"]),
        )


def _same(saved: Change, current: Change) -> bool:
    kind = KINDS[saved.kind]
    if (saved.before is None) != (current.before is None):
        return False
    if saved.before is None or current.before is None:
        return True
    names = sorted(set(saved.before) | set(current.before))
    return kind.normalize({n: saved.before.get(n) for n in names}) == kind.normalize(
        {n: current.before.get(n) for n in names}
    )


def _describe(current: Change | None) -> str:
    if current is None:
        return "no longer part of the plan"
    if current.before is None:
        return "absent"
    return "changed (" + ", ".join(f"{k}={v!r}" for k, v in sorted(current.before.items()) if v is not None)[:300] + ")"


# Changes handed to one write_many call (state is written before each chunk). A large apply has at most
# MAX_CHUNKS of them (each a whole number of rounds of `$batch` writes: BATCH_SIZE x parallelism), so writing
# state, one linear render each time, stays a small part of the apply; the price is the crash window: a process
# killed mid-chunk leaves up to one chunk of intents (2,560 changes at 50,000 mailboxes), which the next plan re-reads.
BULK_CHUNK = 500
MAX_CHUNKS = 20
BATCH_SIZE = 20  # Graph's limit per $batch (clients/graph.py)


def chunk_size(changes: int, parallelism: int) -> int:
    """How many bulk changes go in one chunk: at least BULK_CHUNK, at most MAX_CHUNKS chunks, whole rounds."""
    size = max(BULK_CHUNK, -(-changes // MAX_CHUNKS))
    per_round = BATCH_SIZE * max(1, parallelism)
    return -(-size // per_round) * per_round


class ApplyFailed(ReconcilerError):
    """Some changes failed; every other independent change was applied and recorded."""


@dataclass
class _Run:
    """One apply in progress: what failed, what was done, and the state as last written."""

    ctx: Context
    state: State
    backend: StateBackend
    progress: Progress
    interrupts: Interrupts
    failed: dict[str, str] = field(default_factory=dict)  # address -> why
    reached: set[str] = field(default_factory=set)  # addresses done, failed or printed as manual steps
    done: int = 0  # changes to the tenant or state carried out
    unwritten: bool = False  # results (or records of printed manual steps) put in `state` since it was last written
    told: list[tuple[Change, str]] = field(default_factory=list)  # progress held back until state is written

    def blocked_by(self, change: Change) -> str | None:
        return next((dep for dep in change.depends_on if dep in self.failed), None)

    def report(self, change: Change, phase: str) -> None:
        """Progress; while results are unwritten it waits for the write, so a change is said to be done only once
        state records it (and the lines keep their order)."""
        if self.unwritten:
            self.told.append((change, phase))
        else:
            self.progress(change, phase)

    def fail(self, change: Change, why: str) -> None:
        self.failed[change.address] = why
        self.reached.add(change.address)
        self.report(change, "failed")

    def finish(self, change: Change) -> None:
        self.reached.add(change.address)
        self.done += change.action is not Action.NOOP
        self.report(change, "done")

    @contextmanager
    def writing(self, changes: list[Change]) -> Iterator[None]:
        """State records the intent to write `changes` and is written (with the results recorded since the last
        write) before they are sent; the interrupts know them as in flight until the block ends."""
        writes = [c for c in changes if c.action.changes_tenant]
        with self.interrupts.writing([c.address for c in writes]):
            if writes:
                addresses = {c.address for c in writes}
                intents = [Intent(address=c.address, kind=c.kind, action=c.action.value) for c in writes]
                kept = [i for i in self.state.intents if i.address not in addresses]
                self.state.intents = [*kept, *intents]
                self.write()
            yield

    def settle(self, changes: list[Change]) -> None:
        """Their results are recorded: clear their intents (an earlier run's too). State is written with the next
        chunk's intents, or when apply ends however it ends (`apply_plan`): one write per chunk, not two."""
        settled = {c.address for c in changes}
        self.state.intents = [i for i in self.state.intents if i.address not in settled]
        self.unwritten = True

    def write(self) -> None:
        self.state = self.backend.write(self.state)
        self.unwritten = False
        told, self.told = self.told, []
        for change, phase in told:
            self.progress(change, phase)

    def stopped(self, plan: Plan) -> Interrupted:
        left = [c for c in plan.changes if c.action is not Action.NOOP and c.address not in self.reached]
        lines = [f"{address}: {why}" for address, why in self.failed.items()]
        failed = f", {len(self.failed)} failed" if self.failed else ""
        return Interrupted(
            f"Interrupted: {self.done} done, {len(left)} not started{failed}",
            "\n  ".join(
                [
                    *lines,
                    f"state records every change that finished (serial {self.state.serial}); "
                    "run `reconciler apply` again to carry on",
                ]
            ),
        )


def apply_plan(
    ctx: Context,
    plan: Plan,
    state: State,
    backend: StateBackend,
    progress: Progress,
    interrupts: Interrupts | None = None,
) -> State:
    """Apply every change, writing state before each change (or chunk of bulk changes) with the results of the ones
    before and the intent to make this one (cleared by its result), and once more when apply ends, however it ends:
    an interrupted apply loses nothing that was done, and a write interrupted at once is re-read by the next plan
    (engine/interrupt.py). A change that fails
    does not stop the changes independent of it; those depending on it are skipped. Any failure ends in
    ApplyFailed listing each address and why; a first interrupt lets the writes in flight finish, then ends in
    Interrupted."""
    ctx.resolved = plan.resolved
    run = _Run(ctx, state, backend, progress, interrupts or Interrupts())
    ctx.stopping = run.interrupts.stopping
    run.state.tenant = plan.tenant
    bulk = sum(1 for c in plan.changes if _bulk(c))
    try:
        with run.interrupts.applying():
            for group in _groups(plan.changes, chunk_size(bulk, ctx.parallelism)):
                if run.interrupts.requested:
                    break
                ready = [c for c in group if not _skipped(run, c)]
                if len(ready) > 1:
                    _apply_bulk(run, ready)
                elif ready:
                    _apply_single(run, ready[0])
    except BaseException:  # what finished is recorded before the error (or a second signal) ends apply
        if run.unwritten:
            _write_quietly(run)
        raise
    if run.interrupts.requested:
        if run.unwritten:
            run.write()
        raise run.stopped(plan)
    if not plan.targets:  # the plan covered every earlier intent (those no longer in the spec were named in it)
        run.state.intents = [i for i in run.state.intents if i.address in run.failed]
        run.write()
    elif run.unwritten:
        run.write()
    if run.failed:
        lines = [f"{address}: {why}" for address, why in run.failed.items()]
        total = sum(1 for c in plan.changes if c.action is not Action.NOOP)
        raise ApplyFailed(
            f"{len(run.failed)} of {total} changes failed; the others were applied and recorded",
            "\n  ".join(lines),
        )
    return run.state


def _write_quietly(run: _Run) -> None:
    """Write state while another error ends apply; a failure here must not hide that error (the intents written
    before each chunk let the next plan re-read what this write would have recorded)."""
    with suppress(Exception):  # the error being raised is the one to report
        run.write()


def _skipped(run: _Run, change: Change) -> bool:
    dependency = run.blocked_by(change)
    if dependency is not None:
        run.fail(change, f"skipped: it depends on {dependency}, which failed")
    return dependency is not None


def _groups(changes: list[Change], size: int) -> list[list[Change]]:
    """Consecutive creates/updates of one bulk kind go together (up to `size`); the rest one by one."""
    groups: list[list[Change]] = []
    for change in changes:
        last = groups[-1] if groups else None
        if _bulk(change) and last and _bulk(last[0]) and last[0].kind == change.kind and len(last) < size:
            last.append(change)
        else:
            groups.append([change])
    return groups


def _bulk(change: Change) -> bool:
    return KINDS[change.kind].bulk and change.automated and change.action in (Action.CREATE, Action.UPDATE)


def _apply_single(run: _Run, change: Change) -> None:
    if not change.automated:
        # recorded once the next plan confirms it in the tenant, unless its backend records what the commands set
        printed = KINDS[change.kind].backend(run.ctx.target).record_manual(change)
        if printed is not None:  # written with the next change's state, or at the end (one write for many rooms)
            run.state.put(_record(run.ctx, change, printed, run.state.get(change.address)))
            run.unwritten = True
        run.reached.add(change.address)
        run.report(change, "manual")
        return
    with run.writing([change]):
        run.report(change, "start")
        try:
            _apply_one(run.ctx, change, run.state)
        except ReconcilerError as exc:  # its intent stays: whether it was carried out is not known
            run.fail(change, _why(exc))
            return
    run.settle([change])
    run.finish(change)
    if change.manual:
        run.report(change, "manual")


def _apply_bulk(run: _Run, group: list[Change]) -> None:
    backend = KINDS[group[0].kind].backend(run.ctx.target)
    with run.writing(group):
        for change in group:
            run.report(change, "start")
        results = backend.write_many(run.ctx, group)
    for change, result in zip(group, results, strict=True):
        if not isinstance(result, ReconcilerError):
            run.state.put(_record(run.ctx, change, result, run.state.get(change.address)))
    # written, or never sent: their intents go; a failed write's stays (whether it was carried out is not known)
    run.settle([c for c, r in zip(group, results, strict=True) if isinstance(r, NotStarted | Observed)])
    for change, result in zip(group, results, strict=True):
        if isinstance(result, NotStarted):
            continue
        if isinstance(result, ReconcilerError):
            run.fail(change, _why(result))
        else:
            run.finish(change)


def _why(error: ReconcilerError) -> str:
    return f"{error.summary}: {error.detail}" if error.detail else error.summary


def _apply_one(ctx: Context, change: Change, state: State) -> None:
    backend = KINDS[change.kind].backend(ctx.target)
    record = state.get(change.address)
    if change.action in (Action.DELETE, Action.FORGET):
        if change.action is Action.DELETE:
            backend.delete(ctx, change)
        state.remove(change.address)
        return
    if change.action is Action.REPLACE:  # the object found (recorded or adopted) goes first
        backend.delete(ctx, change)
        observed = backend.create(ctx, change.model_copy(update={"id": None, "before": None}))
        record = None
    elif change.action is Action.CREATE:
        observed = backend.create(ctx, change)
    elif change.action is Action.UPDATE:
        observed = backend.update(ctx, change)
    else:  # no-op: recorded (adopted when it was not in state yet)
        observed = Observed(change.address, change.id, dict(change.after or {}))
    state.put(_record(ctx, change, observed, record))


def _record(ctx: Context, change: Change, observed: Observed, record: ResourceRecord | None) -> ResourceRecord:
    kind = KINDS[change.kind]
    made = change.action in (Action.CREATE, Action.REPLACE) or change.interrupted
    created = made or bool(record and record.created_by_reconciler)
    return ResourceRecord(
        prevent_destroy=ctx.spec.spec.lifecycle.protects(change.address),
        address=change.address,
        kind=change.kind,
        id=observed.id,
        created_by_reconciler=created,
        depends_on=list(change.depends_on),
        attributes=_recorded(kind.write_only | kind.sensitive, change.after or {}),
    )


def _recorded(hidden: frozenset[str], after: dict[str, Any]) -> dict[str, Any]:
    """The attributes state keeps: the applied ones, never write-only or sensitive values."""
    return {k: v for k, v in after.items() if k not in hidden and v != SENSITIVE}
