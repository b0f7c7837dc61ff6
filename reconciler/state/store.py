"""Reading and writing state text on any medium: one parser (version check first) and, for files,
atomic owner-only writes that keep a backup of the previous version."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from pydantic import ValidationError

from reconciler.errors import StateError
from reconciler.state.backend import StateConflictError, render_state, same_content
from reconciler.state.model import FORMAT_VERSION, State


def parse_state(text: str | bytes, name: str, restore: str) -> State:
    """The state in `text`; a StateError naming it (`name`, e.g. "state file x.json") when it is unreadable,
    of another format version, or invalid. `restore` says how to get a good version back."""
    try:
        data = json.loads(text)
    except ValueError as exc:  # includes UnicodeDecodeError
        raise StateError(f"cannot read {name}: {exc}", restore) from None
    version = data.get("version") if isinstance(data, dict) else None
    if version != FORMAT_VERSION:
        raise StateError(
            f"{name} has format version {version!r}; this reconciler reads version {FORMAT_VERSION}",
            "use the reconciler release that wrote it",
        )
    try:
        return State.model_validate(data)
    except ValidationError as exc:
        raise StateError(f"{name} is not valid: {exc.errors()[0]['msg']}", restore) from None


def read_state(path: Path) -> State:
    """The state at `path`, or a new empty one (serial 0, fresh lineage) when there is none yet."""
    return read_state_text(path)[0]


def read_state_text(path: Path) -> tuple[State, str | None]:
    """The state at `path` and the text it was read from (None: no state there yet)."""
    text = _read_text(path)
    if text is None:
        return State(), None
    return parse_state(text, f"state file {path}", _restore(path)), text


def _restore(path: Path) -> str:
    return f"restore it from {backup_path(path)} or move it away to start a new state"


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StateError(f"cannot read state file {path}: {exc}", _restore(path)) from None


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".backup")


def write_state(path: Path, state: State, exact: bool = False, expect_serial: int | None = None) -> State:
    """Write `state` if it differs from what is on disk; return it with its serial advanced
    (`exact`: written with its own serial, for `state push` / `state migrate`).

    `expect_serial`: the serial this run last read or wrote; a file on disk with another one was written
    by someone else in between, and the write is refused (StateConflictError). The previous file is
    kept as `<name>.backup`; see `write_private` for why a crash never leaves half a file.
    """
    return write_state_text(path, state, exact, expect_serial)[0]


def write_state_text(
    path: Path, state: State, exact: bool = False, expect_serial: int | None = None, known: str | None = None
) -> tuple[State, str | None]:
    """As `write_state`; also the text the file holds afterwards. `known`: the text this run last read from or wrote
    to `path` (its serial is `expect_serial`). While the file still holds exactly that, it is neither parsed nor
    compared record by record: the state is rendered once and compared as text (an apply of 10,000 changes writes
    state some 20 times, each in one linear pass)."""
    raw = _read_text(path)
    if raw is not None and known is not None and expect_serial is not None and raw == known:
        return _write_over_known(path, state, exact, expect_serial, raw)
    previous = parse_state(raw, f"state file {path}", _restore(path)) if raw is not None else None
    if previous is not None and expect_serial is not None and previous.serial != expect_serial:
        raise StateConflictError(
            f"state {path} changed while this run held it (serial {expect_serial} -> {previous.serial})",
            "another process wrote it without the lock; run plan again to see the tenant as it is now",
        )
    if previous is not None and same_content(previous, state) and (not exact or previous.serial == state.serial):
        return previous, raw
    serial = state.serial if exact else (previous.serial if previous else state.serial) + 1
    new = state.model_copy(update={"serial": serial})
    text = render_state(new)
    write_private(path, text, backup=backup_path(path))
    return new, text


def _write_over_known(path: Path, state: State, exact: bool, serial: int, raw: str) -> tuple[State, str]:
    """`raw`, at `serial`, is what this run last wrote or read: `state` rendered at that serial and compared with it
    says whether anything changed (by their JSON when only key order could differ: same length)."""
    at_serial = state.model_copy(update={"serial": serial})
    text = render_state(at_serial)
    if (text == raw or (len(text) == len(raw) and _same_json(text, raw))) and (not exact or state.serial == serial):
        return at_serial, raw
    new = state.model_copy(update={"serial": state.serial if exact else serial + 1})
    old_head, new_head = _head(serial), _head(new.serial)
    text = new_head + text[len(old_head) :] if text.startswith(old_head) else render_state(new)
    write_private(path, text, backup=backup_path(path))
    return new, text


def _head(serial: int) -> str:
    """How `render_state` begins (the serial is the second field of every state)."""
    return f'{{\n  "version": {FORMAT_VERSION},\n  "serial": {serial},\n'


def _same_json(a: str, b: str) -> bool:
    first, second = json.loads(a), json.loads(b)
    first.pop("serial", None)
    second.pop("serial", None)
    return bool(first == second)


def write_private(path: Path, text: str, backup: Path | None = None) -> None:
    """Replace `path` by `text`, readable by the owner only (state names the tenant's objects).

    A temp file in the same folder is written, flushed to disk and renamed over `path`, so `path` always
    names a whole file: the old one until the rename, the new one after. The old file, if any, is first
    hard-linked to `backup` (itself replaced by a rename), so it is never moved away from `path`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.fchmod(fd, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if backup is not None and path.exists():
            link = backup.with_name(f".{backup.name}.link")
            link.unlink(missing_ok=True)
            os.link(path, link)
            os.replace(link, backup)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
