"""The tenant file, its journal, and the loaded tenant the handlers share.

Shape of the tenant (JSON object)::

    {
      "tenant": {"id": "<guid>", "displayName": "Contoso", "initialDomain": "contoso.onmicrosoft.com",
                 "domains": ["contoso.onmicrosoft.com", "contoso.com"],   # verified domain names
                 "flavor": "exchange_online" | "exchange_server"},
      "settings": {"latency_ms": 0},
      "subscribedSkus": [<Graph subscribedSku objects, as GET /subscribedSkus returns them>],
      "users": [<Graph user objects (id, userPrincipalName, assignedLicenses, usageLocation, ...)
                 plus "passwordHash": "sha256$<salt hex>$<digest hex>" (never returned)>],
      "rooms": [{"id", "displayName", "emailAddress", "alias"}],
      "servicePrincipals": [{"id", "appId", "displayName",        # Entra enterprise apps (Graph), with the
                             "appRoleAssignments": [...]}],        # application permissions consented
      "places": {"<recipient Guid>": {<Graph room/roomList properties set by PATCH /places>}},  # graph_places
      "exchange": {...},                                           # see reconciler.simulator.exchange_model
      "faults": [{"method": "GET", "path": "<regex on the path after /v1.0>",
                  "status": 429 | 500 | 503, "times": N, "retry_after": seconds,
                  "code"?: "...", "message"?: "..."}]       # see reconciler.simulator.faults
    }

On disk: the tenant file ``F`` (the base, written whole and atomically: temp file + ``os.replace``, top-level
lists one element per line) and, while a simulator runs, its journal ``F.journal``: a header line
``{"journal": 1, "base": "<sha256 of F>"}`` and then one line per saved change, a JSON array of
operations (:mod:`reconciler.simulator.journal`). :meth:`TenantStore.save` appends one line (one
``write`` on an ``O_APPEND`` descriptor before the response goes out, so a killed process loses no
acknowledged write); :meth:`TenantStore.close` (a simulator's stop), :func:`compact_tenant` and a journal
grown past the size of the base fold the journal into ``F`` and delete it. A journal whose header names
another base (the base was replaced after it was written, e.g. by a compaction that was killed before it
could delete the journal, or by hand) is ignored; a torn last line (a killed write) is dropped.

Every reader goes through :func:`read_tenant` or :class:`TenantStore`, which replay the journal. One writer
at a time: a store that finds the files changed by another since it last looked writes the whole tenant
(the last writer wins, as when every save rewrote the file), and does not compact over them on close.
All access to a store goes through :attr:`TenantStore.lock` (one lock for the whole tenant).
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import random
import sys
import tempfile
import threading
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.simulator.journal import Tracker, apply_ops, track

JsonObject = dict[str, Any]
JOURNAL_VERSION = 1
MIN_COMPACT_BYTES = 1 << 20  # a journal is folded into the base once it outgrows the base and this
MAX_LISTINGS = 64  # paged listings kept for their next pages (cursors in nextLinks)


def dump_tenant(data: JsonObject) -> str:
    """Serialize a tenant: top-level keys one per line, list elements one per line."""
    chunks: list[str] = []
    for key, value in data.items():
        name = json.dumps(key)
        if isinstance(value, list) and value:
            items = ",\n  ".join(json.dumps(item, ensure_ascii=False) for item in value)
            chunks.append(f" {name}: [\n  {items}\n ]")
        else:
            chunks.append(f" {name}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(chunks) + "\n}\n"


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write ``text`` to ``path`` via a temp file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8") if isinstance(text, str) else text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def journal_path(path: Path) -> Path:
    """Where the journal of tenant file ``path`` lives."""
    return path.with_name(path.name + ".journal")


def write_tenant(path: Path, data: JsonObject) -> None:
    """Write a whole tenant file (atomically) and drop any journal left beside it."""
    write_atomic(path, dump_tenant(data))
    journal_path(path).unlink(missing_ok=True)


def _digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _identity(stat: os.stat_result) -> tuple[int, int, int, int]:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


@dataclass
class _Loaded:
    data: JsonObject
    base_digest: str
    base_identity: tuple[int, int, int, int]
    journal_identity: tuple[int, int] | None  # (device, inode) of a journal that was replayed
    journal_end: int  # bytes of that journal up to its last whole line
    journal_size: int  # bytes of that journal (more than journal_end after a torn write)
    journal_lines: int  # change lines replayed


class JournalError(ValueError):
    """A journal line in the middle of the file is not a journal operation list."""


@contextmanager
def _no_gc() -> Iterator[None]:
    """Loading builds hundreds of thousands of containers and no garbage: the collector only slows it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load(path: Path) -> _Loaded:
    """The base file with its journal (when it belongs to this base) replayed."""
    with _no_gc():
        return _load_files(path)


def _load_files(path: Path) -> _Loaded:
    with path.open("rb") as handle:
        raw = handle.read()
        base_identity = _identity(os.fstat(handle.fileno()))
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a tenant file holds a JSON object")
    loaded = _Loaded(data, _digest(raw), base_identity, None, 0, 0, 0)
    try:
        handle = journal_path(path).open("rb")
    except FileNotFoundError:
        return loaded
    with handle:
        text = handle.read()
        stat = os.fstat(handle.fileno())
    lines = text.split(b"\n")
    whole = lines[:-1]  # the part after the last newline is empty, or a torn write
    try:
        header = json.loads(whole[0]) if whole else None
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("base") != loaded.base_digest:
        return loaded  # written against another base: already folded in, or stale
    end = len(whole[0]) + 1
    for number, line in enumerate(whole[1:], start=2):
        try:
            ops = json.loads(line)
        except ValueError as exc:
            raise JournalError(f"{journal_path(path)} line {number} is not JSON ({exc})") from None
        apply_ops(data, ops)
        end += len(line) + 1
    loaded.journal_identity = (stat.st_dev, stat.st_ino)
    loaded.journal_end = end
    loaded.journal_size = stat.st_size
    loaded.journal_lines = len(whole) - 1
    return loaded


def read_tenant(path: Path) -> JsonObject:
    """The tenant as it is now: the file with any journal of a running (or killed) simulator replayed."""
    return _load(Path(path)).data


def compact_tenant(path: Path) -> None:
    """Fold a journal left beside ``path`` into it (nothing to do without one)."""
    if journal_path(Path(path)).exists():
        store = TenantStore(Path(path))
        store.close()


def _close_fd(fd: int) -> None:
    with suppress(OSError):
        os.close(fd)


class TenantStore:
    """The loaded tenant (a tracked tree, :mod:`reconciler.simulator.journal`) plus id/UPN indexes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.journal = journal_path(self.path)
        self.lock = threading.Lock()
        loaded = _load(self.path)
        for key, default in (("users", []), ("subscribedSkus", []), ("faults", []), ("settings", {})):
            loaded.data.setdefault(key, default)
        self._tracker = Tracker()
        with _no_gc():
            self.data: JsonObject = track(loaded.data, self._tracker)
        self._base_digest = loaded.base_digest
        self._base_identity: tuple[int, int, int, int] | None = loaded.base_identity
        self._journal_identity = loaded.journal_identity
        self._journal_end = loaded.journal_end
        self._journal_size = loaded.journal_size
        self._journal_lines = loaded.journal_lines
        self._fd: int | None = None
        self._finalizer: weakref.finalize[[int], TenantStore] | None = None
        self.runtime_faults: list[JsonObject] = []  # from `sim serve --faults`; never saved
        self.fault_random: dict[int, random.Random] = {}  # per rule (by id) with a rate: its seeded generator
        self._listings: OrderedDict[str, object] = OrderedDict()  # paged listings by cursor (never saved)
        self._by_id: dict[str, JsonObject] = {}
        self._by_upn: dict[str, JsonObject] = {}
        for user in self.users:
            self._index(user)

    @property
    def tenant(self) -> JsonObject:
        tenant: JsonObject = self.data["tenant"]
        return tenant

    @property
    def users(self) -> list[JsonObject]:
        users: list[JsonObject] = self.data["users"]
        return users

    @property
    def skus(self) -> list[JsonObject]:
        skus: list[JsonObject] = self.data["subscribedSkus"]
        return skus

    @property
    def faults(self) -> list[JsonObject]:
        faults: list[JsonObject] = self.data["faults"]
        return faults

    def _index(self, user: JsonObject) -> None:
        self._by_id[str(user["id"]).lower()] = user
        self._by_upn[str(user["userPrincipalName"]).lower()] = user

    def find_user(self, key: str) -> JsonObject | None:
        """Look a user up by object id or userPrincipalName (both case-insensitive)."""
        lowered = key.lower()
        return self._by_id.get(lowered) or self._by_upn.get(lowered)

    def add_user(self, user: JsonObject) -> JsonObject:
        """Store ``user``; returns the stored object (a tracked copy: change that one afterwards)."""
        self.users.append(user)
        stored = self.users[-1]
        self._index(stored)
        return stored

    def remove_user(self, user: JsonObject) -> None:
        self.users.remove(user)
        self._by_id.pop(str(user["id"]).lower(), None)
        self._by_upn.pop(str(user["userPrincipalName"]).lower(), None)

    def rename_user(self, user: JsonObject, new_upn: str) -> None:
        self._by_upn.pop(str(user["userPrincipalName"]).lower(), None)
        user["userPrincipalName"] = new_upn
        self._by_upn[new_upn.lower()] = user

    # --- paged listings -----------------------------------------------------------------------------

    def keep_listing(self, listing: object) -> str:
        """Keep a listing whose next pages a client will ask for; returns its cursor (the last
        :data:`MAX_LISTINGS` are kept). Call with :attr:`lock` held."""
        cursor = uuid.uuid4().hex
        self._listings[cursor] = listing
        while len(self._listings) > MAX_LISTINGS:
            self._listings.popitem(last=False)
        return cursor

    def listing(self, cursor: str) -> object | None:
        """A kept listing (None when it was never kept or is no longer)."""
        return self._listings.get(cursor)

    def drop_listing(self, cursor: str) -> None:
        self._listings.pop(cursor, None)

    # --- persistence -----------------------------------------------------------------------------

    def save(self) -> None:
        """Persist what changed since the last save: one journal line. Call with :attr:`lock` held."""
        ops = self._tracker.collect()
        if not ops:
            return
        line = (json.dumps(ops, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        if not self._files_unchanged():
            self._compact()  # another writer changed the files: the whole tenant, as it is here, wins
            return
        self._append(line)
        if self._journal_end > max(MIN_COMPACT_BYTES, self._base_identity[2] if self._base_identity else 0):
            self._compact()

    def close(self) -> None:
        """Fold the journal into the tenant file (when there is one and nobody else changed the files)."""
        with self.lock:
            self._tracker.collect()  # what was never saved stays unsaved, as before
            if self._journal_identity is not None:
                if self._files_unchanged():
                    self._compact()
                else:
                    print(f"tenant simulator: {self.path} changed meanwhile; its journal is left", file=sys.stderr)
            self._release()

    def _files_unchanged(self) -> bool:
        """True when the base and journal are as this store last read or wrote them."""
        try:
            base = _identity(os.stat(self.path))
        except FileNotFoundError:
            return False
        if base != self._base_identity:
            return False
        try:
            journal = os.stat(self.journal)
        except FileNotFoundError:
            return self._journal_identity is None
        if self._journal_identity is None:
            return False  # someone started a journal
        return (journal.st_dev, journal.st_ino) == self._journal_identity and journal.st_size == self._journal_size

    def _append(self, line: bytes) -> None:
        if self._fd is None:
            self._open_journal()
        assert self._fd is not None
        view = memoryview(line)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._journal_end += len(line)
        self._journal_size = self._journal_end
        self._journal_lines += 1

    def _open_journal(self) -> None:
        """Open the journal for appending: the replayed one (cut after its last whole line) or a new one."""
        if self._journal_identity is None:
            header = json.dumps({"journal": JOURNAL_VERSION, "base": self._base_digest}) + "\n"
            write_atomic(self.journal, header)
            stat = os.stat(self.journal)
            self._journal_identity, self._journal_end = (stat.st_dev, stat.st_ino), stat.st_size
            self._journal_lines = 0
        fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND)
        os.ftruncate(fd, self._journal_end)  # a torn last line (a killed write) goes
        self._journal_size = self._journal_end
        self._fd = fd
        self._finalizer = weakref.finalize(self, _close_fd, fd)

    def _compact(self) -> None:
        """Write the whole tenant as the new base and delete the journal."""
        self._tracker.collect()
        raw = dump_tenant(self.data).encode("utf-8")
        write_atomic(self.path, raw)
        self._base_digest = _digest(raw)
        self._base_identity = _identity(os.stat(self.path))
        self._release()
        self.journal.unlink(missing_ok=True)
        self._journal_identity, self._journal_end, self._journal_lines = None, 0, 0

    def _release(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
        self._fd = None
