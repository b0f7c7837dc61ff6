"""Which backend holds a workspace's state: the spec's `backend:` section, else the local file.

--state PATH           the local file at PATH
--workspace NAME       state/NAME.json locally (another blob name on azure_blob)
neither                the workspace is the spec file's name: state/<spec name>.json
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import StateError
from reconciler.state.backend import StateBackend
from reconciler.state.local import LocalBackend

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
    """`--state`, else state/<workspace>.json, the workspace defaulting to the spec file's name."""
    if state is not None:
        return state
    if workspace is None and spec_path is not None:
        workspace = spec_path.stem
    if workspace is None:
        return _only_state_file()
    return STATE_DIR / f"{workspace}.json"


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


def open_backend(spec_path: Path | None, choice: StateChoice) -> StateBackend:
    """The backend for a spec (None: no spec given) and the command line's state options."""
    return LocalBackend(state_path_for(spec_path, choice.state, choice.workspace))
