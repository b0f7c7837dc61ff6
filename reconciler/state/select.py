"""Which backend holds a workspace's state: the spec's `backend:` section, else the local file.

--state PATH           the local file at PATH
--workspace NAME       <state dir>/NAME.json locally (another blob name on azure_blob)
neither                the workspace is the spec file's name: <state dir>/<spec name>.json

The state dir belongs to the spec, not to the current directory: the first `state/` folder found from the spec's
folder up to its repository's root (the folder holding `.git`), else `state/` next to the spec. So a command run
from anywhere finds the same state, as the spec's other relative paths (CSV, simulated tenant) are found. A state
file at the old place (`state/` of the current directory) is still used when the new place has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.errors import StateError
from reconciler.state.backend import StateBackend
from reconciler.state.local import LocalBackend

if TYPE_CHECKING:
    from reconciler.spec.loader import LoadedSpec

STATE_DIR = Path("state")


@dataclass(frozen=True)
class StateChoice:
    """The state options of a command line."""

    state: Path | None = None
    workspace: str | None = None

    def workspace_for(self, spec_path: Path | None) -> str | None:
        if self.workspace is not None:
            return self.workspace
        return spec_path.stem if spec_path is not None else None


def state_path_for(spec_path: Path | None, state: Path | None, workspace: str | None) -> Path:
    """`--state`, else <state dir>/<workspace>.json, the workspace defaulting to the spec file's name."""
    if state is not None:
        return state
    if workspace is None and spec_path is not None:
        workspace = spec_path.stem
    if workspace is None:
        return _only_state_file()
    name = f"{workspace}.json"
    if spec_path is None:
        return STATE_DIR / name
    found = state_dir_for(spec_path) / name
    legacy = STATE_DIR / name
    if not found.exists() and legacy.exists() and legacy.resolve() != found.resolve():
        return legacy  # written by an older reconciler, relative to where it ran
    return _relative(found)


def state_dir_for(spec_path: Path) -> Path:
    """The first `state/` folder from the spec's folder up to its repository's root, else `state/` beside it."""
    folder = spec_path.resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / STATE_DIR).is_dir():
            return candidate / STATE_DIR
        if (candidate / ".git").exists():
            break
    return folder / STATE_DIR


def _relative(path: Path) -> Path:
    """A path as short as it can be said from the current directory (messages and plans show it)."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _only_state_file() -> Path:
    files = sorted(p for p in STATE_DIR.glob("*.json") if _looks_like_state(p)) if STATE_DIR.is_dir() else []
    if len(files) == 1:
        return files[0]
    listing = ", ".join(str(f) for f in files) or "none"
    raise StateError("which state? give --state PATH, --workspace NAME or --spec SPEC", f"state files here: {listing}")


def _looks_like_state(path: Path) -> bool:
    """A state file starts with its format version and serial (a simulated tenant file does not)."""
    try:
        with path.open(encoding="utf-8") as handle:
            head = handle.read(200)
    except OSError:
        return False
    return '"serial"' in head and '"version"' in head


def open_backend(spec_path: Path | None, choice: StateChoice, loaded: LoadedSpec | None = None) -> StateBackend:
    """The backend for a spec (None: no spec given) and the command line's state options."""
    if loaded is None and spec_path is not None:
        from reconciler.spec.loader import load_spec

        loaded = load_spec(spec_path)
    config = loaded.spec.backend if loaded is not None else None
    if config is None or config.type == "local":
        return LocalBackend(state_path_for(spec_path, choice.state, choice.workspace))
    assert loaded is not None and config.container and config.key
    if choice.state is not None:
        raise StateError(
            f"--state is for a local state file, but {loaded.path} keeps its state in azure_blob",
            "drop --state (use --workspace NAME for another state in the same container)",
        )
    from reconciler.state.azure_blob import AzureBlobBackend

    secret = config.connection_string
    return AzureBlobBackend(
        container=config.container,
        key=config.key,
        workspace=choice.workspace,
        account_url=config.account_url,
        connection_string=loaded.resolve_env(secret, "backend", "connection_string") if secret else None,
        lease_seconds=config.lease_seconds,
        local_dir=STATE_DIR,
    )
