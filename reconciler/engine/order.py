"""Order: dependencies first (a license change after its user exists); deletes in reverse."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

from reconciler.errors import SpecError
from reconciler.resources.base import Desired
from reconciler.state.model import ResourceRecord


def dependency_order(desired: list[Desired]) -> list[Desired]:
    by_address = {d.address: d for d in desired}
    return [by_address[a] for a in _order({d.address: d.depends_on for d in desired})]


def removal_order(records: list[ResourceRecord]) -> list[ResourceRecord]:
    """Dependents before what they depend on: licenses go before the user is destroyed."""
    by_address = {r.address: r for r in records}
    return [by_address[a] for a in reversed(_order({r.address: tuple(r.depends_on) for r in records}))]


def _order(graph: dict[str, tuple[str, ...]]) -> list[str]:
    """A topological order that otherwise keeps the input order (kinds in KINDS order, then spec order)."""
    edges = {node: [dep for dep in deps if dep in graph] for node, deps in graph.items()}
    sorter = TopologicalSorter(edges)
    try:
        sorter.prepare()
    except CycleError as exc:
        raise SpecError(f"resources depend on each other in a cycle: {' -> '.join(exc.args[1])}") from None
    position = {node: i for i, node in enumerate(graph)}
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        order += ready
        sorter.done(*ready)
    return order
