"""Order: dependencies first (a license change after its user exists); deletes in reverse."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

from reconciler.errors import SpecError
from reconciler.resources.base import Desired


def dependency_order(desired: list[Desired]) -> list[Desired]:
    by_address = {d.address: d for d in desired}
    graph = {d.address: [dep for dep in d.depends_on if dep in by_address] for d in desired}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise SpecError(f"resources depend on each other in a cycle: {' -> '.join(exc.args[1])}") from None
    return [by_address[a] for a in order]
