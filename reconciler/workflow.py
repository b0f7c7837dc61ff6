"""What each command does, step by step, between parsing (cli.py) and the engine.

The tenant connection is passed in (`Connect`), so the CLI decides whether a real tenant or the
simulated one is used and nothing here knows the simulator.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from reconciler.engine import DriftReport, Plan, apply_plan, check_current, detect_drift, make_plan
from reconciler.engine.apply import Progress
from reconciler.engine.verify import VerifyReport
from reconciler.engine.verify import verify as run_verify
from reconciler.errors import PlanError, ReconcilerError, StateError
from reconciler.resources.base import Context
from reconciler.spec.loader import LoadedSpec, load_spec
from reconciler.state import State, read_state, state_lock

Connect = Callable[[LoadedSpec], AbstractContextManager[Context]]
Confirm = Callable[[Plan], bool]
STATE_DIR = Path("state")


class Cancelled(ReconcilerError):
    """The user did not approve the plan."""


def state_path_for(spec_path: Path | None, state: Path | None, workspace: str | None) -> Path:
    """`--state`, else state/<workspace>.json, the workspace defaulting to the spec file's name."""
    if state is not None:
        return state
    if workspace is None and spec_path is not None:
        workspace = spec_path.stem
    if workspace is None:
        return _only_state_file()
    return STATE_DIR / f"{workspace}.json"


def _only_state_file() -> Path:
    files = sorted(p for p in STATE_DIR.glob("*.json")) if STATE_DIR.is_dir() else []
    if len(files) == 1:
        return files[0]
    listing = ", ".join(str(f) for f in files) or "none"
    raise StateError("which state? give --state PATH or --workspace NAME", f"state files here: {listing}")


def read_checked_state(path: Path, loaded: LoadedSpec) -> State:
    state = read_state(path)
    tenant = loaded.spec.tenant.name
    if state.tenant and state.tenant != tenant:
        raise StateError(
            f"state {path} belongs to tenant {state.tenant}, but the spec is for {tenant}",
            "use --state or --workspace to pick the state of this tenant",
        )
    return state


def plan(spec_path: Path, state_path: Path, connect: Connect, targets: tuple[str, ...] = ()) -> Plan:
    loaded = load_spec(spec_path)
    state = read_checked_state(state_path, loaded)
    with connect(loaded) as ctx:
        return make_plan(ctx, state, state_path, targets)


def load_plan(path: Path) -> Plan:
    try:
        return Plan.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise PlanError(
            f"{path} is not a saved plan: {exc}", "make one with `reconciler plan SPEC --out FILE`"
        ) from None


def is_saved_plan(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "format_version" in data and "changes" in data


@dataclass
class ApplyResult:
    plan: Plan
    state: State


def apply(
    spec_path: Path,
    state_path: Path,
    saved: Plan | None,
    connect: Connect,
    confirm: Confirm,
    progress: Progress,
    targets: tuple[str, ...] = (),
) -> ApplyResult:
    """Plan (or take the saved plan), confirm, apply, holding the state lock throughout."""
    with state_lock(state_path, "apply"):
        loaded = load_spec(spec_path)
        state = read_checked_state(state_path, loaded)
        if saved is not None:
            check_current(saved, loaded.sha256, state, state_path)
        with connect(loaded) as ctx:
            plan = saved or make_plan(ctx, state, state_path, targets)
            if plan.has_changes and not confirm(plan):
                raise Cancelled("apply cancelled", "nothing was changed")
            state = apply_plan(ctx, plan, state, state_path, progress)
    return ApplyResult(plan, state)


def verify(spec_path: Path, connect: Connect, inside: str | None, outside: str | None) -> VerifyReport:
    loaded = load_spec(spec_path)
    with connect(loaded) as ctx:
        return run_verify(ctx, inside, outside)


def drift(spec_path: Path, state_path: Path, connect: Connect) -> DriftReport:
    loaded = load_spec(spec_path)
    state = read_checked_state(state_path, loaded)
    with connect(loaded) as ctx:
        return detect_drift(ctx, state)
