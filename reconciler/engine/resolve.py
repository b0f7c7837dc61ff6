"""Resolve: spec + lookups -> the frozen inputs every later stage uses, recorded in the plan.

Each kind looks up what the spec names (group members, room-list rooms, CSV aliases -> addresses, scope
groups' DNs, SKU ids). Objects the same spec creates resolve from the spec itself (a room list the spec
defines contributes its rooms without a tenant read), so one apply converges. The desired objects are then
a pure function of the spec and these inputs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from enum import IntEnum
from typing import Any, TypeVar

from reconciler.engine.order import dependency_order
from reconciler.resources import KINDS
from reconciler.resources.base import Desired
from reconciler.resources.lookups import Lookups
from reconciler.spec.loader import LoadedSpec

Resolved = dict[str, dict[str, Any]]  # kind -> its resolved inputs (plain JSON)
T = TypeVar("T")


def resolve(loaded: LoadedSpec, lookups: Lookups) -> Resolved:
    """Every kind's lookups. Kinds resolve side by side (each only reads, through the one `Lookups`, which loads
    each answer once): a look-up that pages (a scope group's members) no longer holds up the single ones. The result
    and the error raised (the first kind's in registry order; each SpecError points at the spec's field) are those of
    one kind after another."""
    inputs = each_kind(lambda name, _: KINDS[name].resolve(loaded, lookups))
    return {name: inputs[name] for name in KINDS if inputs.get(name)}


class Stage(IntEnum):
    """Where a kind's work failed, for `each_kind`: an earlier stage's error is the one raised."""

    RESOLVE = 0
    READ = 1


class Failed(Exception):
    """A kind's work failed at `stage` (raised inside `each_kind`'s work to name the stage)."""

    def __init__(self, stage: Stage, error: BaseException) -> None:
        super().__init__(stage, error)
        self.stage, self.error = stage, error


def each_kind(work: Callable[[str, threading.Event], T]) -> dict[str, T]:
    """`work(kind name, failed)` for every registered kind, side by side on threads of its own; every result by
    kind. When any fails, the error raised is the one of the earliest stage (`Failed.stage`; RESOLVE for a plain
    exception), then the first kind in registry order: the error a run of one kind after another would raise.
    `failed` is set at the first failure (work not begun yet may skip its reads). Daemon threads: an interrupt ends
    the run without waiting for their reads."""
    results: dict[str, T] = {}
    errors: dict[str, Failed] = {}
    failed = threading.Event()

    def run(name: str) -> None:
        try:
            results[name] = work(name, failed)
        except Failed as exc:  # handed to the caller's thread below
            errors[name] = exc
            failed.set()
        except BaseException as exc:
            errors[name] = Failed(Stage.RESOLVE, exc)
            failed.set()

    threads = [threading.Thread(target=run, args=(name,), name=f"kind-{name}", daemon=True) for name in KINDS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        order = list(KINDS)
        first = min(errors, key=lambda name: (errors[name].stage, order.index(name)))
        raise errors[first].error
    return results


def desired_resources(loaded: LoadedSpec, resolved: Mapping[str, Mapping[str, Any]]) -> list[Desired]:
    """Every object the spec asks for, in dependency order: pure, from the spec and the resolved inputs."""
    return dependency_order([d for name, kind in KINDS.items() for d in kind.desired(loaded, resolved.get(name, {}))])


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    """What moved between two resolved inputs, one line each ("calendar_permission.mailboxes[group:x]: - a@x")."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        lines: list[str] = []
        for key in sorted(set(before) | set(after), key=str):
            where = f"{path}.{key}" if path and not path.endswith("]") else f"{path}{'.' if path else ''}{key}"
            if isinstance(before.get(key), Mapping) or isinstance(after.get(key), Mapping):
                lines += differences(before.get(key) or {}, after.get(key) or {}, where)
            elif isinstance(before.get(key), list) or isinstance(after.get(key), list):
                lines += _list_differences(before.get(key) or [], after.get(key) or [], where)
            elif before.get(key) != after.get(key):
                lines.append(f"{where}: {before.get(key)!r} -> {after.get(key)!r}")
        return lines
    return [] if before == after else [f"{path}: {before!r} -> {after!r}"]


def _list_differences(before: list[Any], after: list[Any], where: str) -> list[str]:
    gone = [v for v in before if v not in after]
    new = [v for v in after if v not in before]
    parts = (
        [f"no longer {', '.join(map(str, gone[:10]))}" + (f" (+{len(gone) - 10})" if len(gone) > 10 else "")]
        if gone
        else []
    )
    parts += (
        [f"now also {', '.join(map(str, new[:10]))}" + (f" (+{len(new) - 10})" if len(new) > 10 else "")] if new else []
    )
    return [f"{where}: {'; '.join(parts)}"] if parts else []
