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
    if not path.exists():
        return State()
    restore = f"restore it from {backup_path(path)} or move it away to start a new state"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise StateError(f"cannot read state file {path}: {exc}", restore) from None
    return parse_state(text, f"state file {path}", restore)


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".backup")


def write_state(path: Path, state: State, exact: bool = False, expect_serial: int | None = None) -> State:
    """Write `state` if it differs from what is on disk; return it with its serial advanced
    (`exact`: written with its own serial, for `state push` / `state migrate`).

    `expect_serial`: the serial this run last read or wrote; a file on disk with another one was written
    by someone else in between, and the write is refused (StateConflictError). The previous file is
    kept as `<name>.backup`; see `write_private` for why a crash never leaves half a file.
    """
    previous = read_state(path) if path.exists() else None
    if previous is not None and expect_serial is not None and previous.serial != expect_serial:
        raise StateConflictError(
            f"state {path} changed while this run held it (serial {expect_serial} -> {previous.serial})",
            "another process wrote it without the lock; run plan again to see the tenant as it is now",
        )
    if previous is not None and same_content(previous, state) and (not exact or previous.serial == state.serial):
        return previous
    serial = state.serial if exact else (previous.serial if previous else state.serial) + 1
    new = state.model_copy(update={"serial": serial})
    write_private(path, render_state(new), backup=backup_path(path))
    return new


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
