"""Change tracking for the tenant tree, so a save writes what changed instead of the whole tenant.

The store keeps the tenant as :class:`TDict`/:class:`TList` (``dict``/``list`` subclasses) that record
their own changes. Handlers change the tenant as plain JSON (``user["x"] = 1``, ``rows.append(row)``,
``table.setdefault(k, [])``, ``rows.remove(row)``, ``rows[:] = new``); :meth:`Tracker.collect` turns the
changes made since the last call into journal operations, each addressed by the path from the root::

    ["s", path, key, value]    container[key] = value   (a dict key, or a list index)
    ["d", path, key]           del container[key]       (a dict key that is not there is fine)
    ["i", path, index, value]  container.insert(index, value)   (append: index = old length)
    ["r", path, value]         container[:] = value      (a list rebuilt, e.g. sorted or sliced)

:func:`apply_ops` replays them on plain JSON. Values are serialized when collected (so a value changed
after it was inserted is written as it is now), paths are resolved then too, and operations are
ordered shallow first, which makes a list's own positional operations replay before the changes
inside its elements. A change inside a value that is itself written whole is left out.

A plain ``dict``/``list`` stored into a tracked container is copied into tracked containers at that
moment (the caller's own object is not the stored one afterwards: read the stored value back when
changing it later). ``setdefault`` returns the stored copy, so ``d.setdefault(k, []).append(x)`` is
tracked. A tracked value moved from one place to another keeps its identity; one still stored
elsewhere is copied, so the tenant stays a tree. ``copy.copy``/``deepcopy``/pickle of a tracked
container give plain ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, SupportsIndex, TypeGuard

JsonObject = dict[str, Any]
Path = list[Any]
Op = list[Any]

_MAX_OPS_PER_ITEM = 2  # a list with more positional operations than this per element is written whole


class Tracker:
    """The containers changed since the last :meth:`collect`, for one tenant tree."""

    def __init__(self) -> None:
        self.root: TDict | None = None
        self._dirty: dict[int, TDict | TList] = {}

    def mark(self, container: TDict | TList) -> None:
        self._dirty[id(container)] = container

    @property
    def changed(self) -> bool:
        return bool(self._dirty)

    def collect(self) -> list[Op]:
        """The journal operations for every change since the last call (shallow paths first); resets."""
        dirty = list(self._dirty.values())
        self._dirty.clear()
        whole: set[int] = set()  # ids of containers written whole by some operation
        for container in dirty:
            whole.update(container._written_whole())
        groups: list[tuple[int, list[Op]]] = []
        for container in dirty:
            path = self._path(container, whole)
            if path is not None:
                groups.append((len(path), container._ops_at(path)))
        for container in dirty:
            container._clean()
        groups.sort(key=lambda group: group[0])
        return [op for _, ops in groups for op in ops]

    def _path(self, container: TDict | TList, whole: set[int]) -> Path | None:
        """Where ``container`` is now, or None when it is no longer in the tree or is written whole."""
        if id(container) in whole:
            return None
        steps: list[Any] = []
        node: TDict | TList = container
        while node is not self.root:
            parent = node._parent
            if parent is None or id(parent) in whole:
                return None
            if isinstance(parent, TDict):
                if dict.get(parent, node._key) is not node:
                    return None
                steps.append(node._key)
            else:
                if parent._rebuilt:
                    return None
                index = parent._index_of(node)
                if index is None:
                    return None
                steps.append(index)
            node = parent
        steps.reverse()
        return steps


def _is_tracked_here(value: Any, tracker: Tracker) -> TypeGuard[TDict | TList]:
    return isinstance(value, TDict | TList) and value._tracker is tracker


def _still_stored(value: TDict | TList) -> bool:
    parent = value._parent
    if parent is None:
        return False
    if isinstance(parent, TDict):
        return dict.get(parent, value._key) is value
    return parent._index_of(value) is not None


def build(value: Any, tracker: Tracker, parent: TDict | TList | None = None, key: Any = None) -> Any:
    """``value`` with every dict and list (recursively) copied into new tracked containers."""
    if isinstance(value, dict):
        tracked_dict = TDict(value)  # scalars copied in C; containers replaced below
        tracked_dict._init(tracker, parent, key)
        for name, item in value.items():
            if isinstance(item, dict | list):
                dict.__setitem__(tracked_dict, name, build(item, tracker, tracked_dict, name))
        return tracked_dict
    if isinstance(value, list):
        tracked_list = TList(value)
        tracked_list._init(tracker, parent, key)
        for index, item in enumerate(value):
            if isinstance(item, dict | list):
                list.__setitem__(tracked_list, index, build(item, tracker, tracked_list))
        return tracked_list
    return value


def _attach(owner: TDict | TList, value: Any, key: Any, leaving: set[int] | None = None) -> Any:
    """The value to store in ``owner``: a tracked value moved here, or a tracked copy of anything else.

    ``leaving``: ids of the elements a slice assignment replaces, which may come back (once each).
    """
    if not isinstance(value, dict | list):
        return value
    if _is_tracked_here(value, owner._tracker):
        if leaving is not None and id(value) in leaving:
            leaving.discard(id(value))
            reuse = True
        else:
            same_place = value._parent is owner and isinstance(owner, TDict) and value._key == key
            reuse = same_place or not _still_stored(value)
        if reuse:
            value._parent, value._key = owner, key
            return value
    return build(value, owner._tracker, owner, key)


class TDict(dict[str, Any]):
    """A JSON object that records which keys changed."""

    __slots__ = ("_key", "_keys", "_parent", "_tracker")

    def _init(self, tracker: Tracker, parent: TDict | TList | None, key: Any) -> None:
        self._tracker, self._parent, self._key = tracker, parent, key
        self._keys: set[str] | None = None

    def _touch(self, key: str) -> None:
        if self._keys is None:
            self._keys = set()
            self._tracker.mark(self)
        self._keys.add(key)

    def __setitem__(self, key: str, value: Any) -> None:
        dict.__setitem__(self, key, _attach(self, value, key))
        self._touch(key)

    def __delitem__(self, key: str) -> None:
        dict.__delitem__(self, key)
        self._touch(key)

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            self._touch(key)
        return dict.pop(self, key, *default)

    def popitem(self) -> tuple[str, Any]:
        key, value = dict.popitem(self)
        self._touch(key)
        return key, value

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return dict.__getitem__(self, key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __ior__(self, other: Any) -> TDict:  # type: ignore[override,misc]
        self.update(other)
        return self

    def clear(self) -> None:
        for key in list(self):
            self._touch(key)
        dict.clear(self)

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        return (dict, (dict(self),))

    def _written_whole(self) -> Iterator[int]:
        for key in self._keys or ():
            value = dict.get(self, key)
            if isinstance(value, TDict | TList):
                yield id(value)

    def _ops_at(self, path: Path) -> list[Op]:
        keys = self._keys or ()
        return [["s", path, key, dict.__getitem__(self, key)] if key in self else ["d", path, key] for key in keys]

    def _clean(self) -> None:
        self._keys = None


class TList(list[Any]):
    """A JSON array that records its positional changes (or that it was rebuilt)."""

    __slots__ = ("_key", "_ops", "_parent", "_positions", "_rebuilt", "_tracker")

    def _init(self, tracker: Tracker, parent: TDict | TList | None, key: Any) -> None:
        self._tracker, self._parent, self._key = tracker, parent, key
        self._ops: list[tuple[str, int, Any]] | None = None  # since the last collect; None: unchanged
        self._rebuilt = False  # changed in a way written as the whole list
        self._positions: dict[int, int] | None = None

    # --- bookkeeping -------------------------------------------------------------------------

    def _record(self, op: tuple[str, int, Any]) -> None:
        if self._ops is None:
            self._ops = []
            self._tracker.mark(self)
        if self._rebuilt:
            return
        self._ops.append(op)
        if len(self._ops) > _MAX_OPS_PER_ITEM * len(self) + 8:
            self._rebuilt = True

    def _replaced(self) -> None:
        if self._ops is None:
            self._ops = []
            self._tracker.mark(self)
        self._rebuilt = True
        self._positions = None

    def _index_of(self, item: object) -> int | None:
        """The position of ``item`` (by identity), from a map kept until the list's shape changes."""
        for _ in range(2):
            if self._positions is None:
                self._positions = {id(element): n for n, element in enumerate(self)}
            index = self._positions.get(id(item))
            if index is not None and index < len(self) and list.__getitem__(self, index) is item:
                return index
            self._positions = None  # stale (or absent): rebuild once
        return None

    def _position(self, index: SupportsIndex, *, inserting: bool = False) -> int:
        n = index.__index__()
        size = len(self)
        if n < 0:
            n += size
        if inserting:
            return min(max(n, 0), size)
        if not 0 <= n < size:
            raise IndexError("list index out of range")
        return n

    def _written_whole(self) -> Iterator[int]:
        if self._rebuilt:
            return  # its elements: Tracker._path stops at a rebuilt list
        for kind, _, value in self._ops or ():
            if kind in ("i", "s") and isinstance(value, TDict | TList):
                yield id(value)

    def _ops_at(self, path: Path) -> list[Op]:
        if self._rebuilt:
            return [["r", path, self]]
        result: list[Op] = []
        for kind, index, value in self._ops or ():
            result.append([kind, path, index] if kind == "d" else [kind, path, index, value])
        return result

    def _clean(self) -> None:
        self._ops, self._rebuilt = None, False

    # --- list API ----------------------------------------------------------------------------

    def append(self, value: Any) -> None:
        stored = _attach(self, value, None)
        list.append(self, stored)
        if self._positions is not None:
            self._positions[id(stored)] = len(self) - 1
        self._record(("i", len(self) - 1, stored))

    def extend(self, values: Iterable[Any]) -> None:
        for value in list(values):
            self.append(value)

    def __iadd__(self, values: Iterable[Any]) -> TList:  # type: ignore[misc]
        self.extend(values)
        return self

    def insert(self, index: SupportsIndex, value: Any) -> None:
        at = self._position(index, inserting=True)
        stored = _attach(self, value, None)
        list.insert(self, at, stored)
        self._positions = None
        self._record(("i", at, stored))

    def pop(self, index: SupportsIndex = -1) -> Any:
        at = self._position(index)
        value = list.pop(self, at)
        self._positions = None
        self._record(("d", at, None))
        return value

    def remove(self, value: Any) -> None:
        self.pop(self.index(value))

    def __delitem__(self, index: SupportsIndex | slice) -> None:
        if isinstance(index, slice):
            list.__delitem__(self, index)
            self._replaced()
        else:
            self.pop(index)

    def __setitem__(self, index: SupportsIndex | slice, value: Any) -> None:
        if isinstance(index, slice):
            leaving = {id(item) for item in list.__getitem__(self, index)}
            list.__setitem__(self, index, [_attach(self, item, None, leaving) for item in list(value)])
            self._replaced()
            return
        at = self._position(index)
        stored = _attach(self, value, None)
        list.__setitem__(self, at, stored)
        self._positions = None
        self._record(("s", at, stored))

    def __imul__(self, times: SupportsIndex) -> TList:
        self[:] = list(self) * times.__index__()
        return self

    def clear(self) -> None:
        list.clear(self)
        self._replaced()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        list.sort(self, *args, **kwargs)
        self._replaced()

    def reverse(self) -> None:
        list.reverse(self)
        self._replaced()

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        return (list, (list(self),))


def track(data: JsonObject, tracker: Tracker) -> TDict:
    """The tenant as a tracked tree whose changes ``tracker`` records."""
    root = build(data, tracker)
    assert isinstance(root, TDict)
    tracker.root = root
    return root


def apply_ops(data: JsonObject, ops: Iterable[Op]) -> None:
    """Replay journal operations on plain JSON (what :meth:`Tracker.collect` returned)."""
    for op in ops:
        kind, path = op[0], op[1]
        target: Any = data
        for step in path:
            target = target[step]
        if kind == "s":
            target[op[2]] = op[3]
        elif kind == "d":
            if isinstance(target, dict):
                target.pop(op[2], None)  # a key may have come and gone since the last save
            else:
                del target[op[2]]
        elif kind == "i":
            target.insert(op[2], op[3])
        elif kind == "r":
            target[:] = op[2]
        else:
            raise ValueError(f"unknown journal operation {kind!r}")
