"""Reading and writing the state file: version check first, atomic writes, a backup of the last one."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from pydantic import ValidationError

from reconciler.errors import StateError
from reconciler.state.model import FORMAT_VERSION, State


def read_state(path: Path) -> State:
    """The state at `path`, or a new empty one (serial 0, fresh lineage) when there is none yet."""
    if not path.exists():
        return State()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StateError(
            f"cannot read state file {path}: {exc}",
            f"restore it from {backup_path(path)} or move it away to start a new state",
        ) from None
    version = data.get("version") if isinstance(data, dict) else None
    if version != FORMAT_VERSION:
        raise StateError(
            f"state file {path} has format version {version!r}; this reconciler reads version {FORMAT_VERSION}",
            "use the reconciler release that wrote it",
        )
    try:
        return State.model_validate(data)
    except ValidationError as exc:
        raise StateError(f"state file {path} is not valid: {exc.errors()[0]['msg']}") from None


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".backup")


def write_state(path: Path, state: State, exact: bool = False) -> State:
    """Write `state` if it differs from what is on disk; return it with its serial advanced
    (`exact`: written with its own serial, for `state push` / `state migrate`).

    The previous file is kept as `<name>.backup`; the write is a temp file plus rename, so a
    crash leaves either the old or the new file, never half of one.
    """
    previous = read_state(path) if path.exists() else None
    if previous is not None and _same_content(previous, state) and (not exact or previous.serial == state.serial):
        return previous
    serial = state.serial if exact else (previous.serial if previous else state.serial) + 1
    new = state.model_copy(update={"serial": serial})
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(new.model_dump(mode="json"), indent=2, sort_keys=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.fchmod(fd, 0o600)  # owner only: state names the tenant's objects
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.replace(path, backup_path(path))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return new


def _same_content(a: State, b: State) -> bool:
    keep = {"lineage", "tenant", "resources"}
    return a.model_dump(include=keep) == b.model_dump(include=keep)
