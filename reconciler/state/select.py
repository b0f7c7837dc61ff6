"""Which backend holds a workspace's state, and which spec owns it: the spec's `backend:` section, else a local file.

--state PATH           the local file at PATH
--workspace NAME       <state dir>/NAME.json locally (another blob name on azure_blob)
neither                <state dir>/<the spec's path from the folder holding the state dir, suffix .json>:
                       teams/a/contoso.yaml -> state/teams/a/contoso.json, so two specs never share a file

The state dir belongs to the spec, not to the current directory: the first `state/` folder found from the spec's
folder up to its repository's root (the folder holding `.git`), else `state/` next to the spec. So a command run
from anywhere finds the same state, as the spec's other relative paths (CSV, simulated tenant) are found.

The spec's identity (`owner_for`) is the same relative path, its tenant and its workspace; state records it.
Older places are still read while the new one has no state: `<state dir>/<spec name>.json` (before states
mirrored the spec's path) and `state/<spec name>.json` of the current directory, each only when it is
unclaimed or owned by this spec; the first write moves it to the new place (the old file becomes its .backup).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.errors import StateError
from reconciler.state.backend import StateBackend
from reconciler.state.local import LocalBackend
from reconciler.state.model import Owner
from reconciler.state.store import read_state

if TYPE_CHECKING:
    from reconciler.spec.loader import LoadedSpec

STATE_DIR = Path("state")


@dataclass(frozen=True)
class StateChoice:
    """The state options of a command line."""

    state: Path | None = None
    workspace: str | None = None
    take_over: bool = False  # --take-over-state: this spec may use (and apply claims) a state another spec owns


def state_path_for(spec_path: Path | None, state: Path | None, workspace: str | None) -> Path:
    """`--state`, else <state dir>/<workspace>.json, else the spec's own path under its state dir."""
    if state is not None:
        return state
    if spec_path is None:
        return STATE_DIR / f"{workspace}.json" if workspace is not None else _only_state_file()
    if workspace is None:
        return _relative(default_state_path(spec_path))
    name = f"{workspace}.json"
    found = state_dir_for(spec_path) / name
    legacy = STATE_DIR / name
    if not found.exists() and legacy.exists() and legacy.resolve() != found.resolve():
        return legacy  # written by an older reconciler, relative to where it ran
    return _relative(found)


def default_state_path(spec_path: Path) -> Path:
    """<state dir>/<spec's path from the folder holding it, with suffix .json>: unique per spec file."""
    return state_dir_for(spec_path) / Path(spec_identity(spec_path)).with_suffix(".json")


def spec_identity(spec_path: Path) -> str:
    """The spec's path from the folder holding its state dir (POSIX separators), e.g. teams/a/contoso.yaml."""
    return spec_path.resolve().relative_to(state_dir_for(spec_path).parent).as_posix()


def owner_for(loaded: LoadedSpec, workspace: str | None) -> Owner:
    """Who a state of this spec and workspace belongs to (recorded in state; see README, State)."""
    return Owner(spec=spec_identity(loaded.path), tenant=loaded.spec.tenant.name, workspace=workspace or "default")


def legacy_state_paths(spec_path: Path) -> list[Path]:
    """Where older reconcilers kept the default state of this spec: <state dir>/<name>.json, state/<name>.json."""
    new = default_state_path(spec_path).resolve()
    places = [state_dir_for(spec_path) / f"{spec_path.stem}.json", STATE_DIR / f"{spec_path.stem}.json"]
    unique = {p.resolve(): _relative(p) for p in places if p.resolve() != new}
    return list(unique.values())


def state_dir_for(spec_path: Path) -> Path:
    """The first `state/` folder from the spec's folder up to its repository's root, else `state/` beside it."""
    folder = spec_path.resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / STATE_DIR).is_dir():
            return candidate / STATE_DIR
        if (candidate / ".git").exists():
            break
    return folder / STATE_DIR


def left_behind(loaded: LoadedSpec) -> list[tuple[Path, Owner]]:
    """States in the spec's state dir owned by a spec of its tenant that is no longer there (moved or renamed?)."""
    state_dir = state_dir_for(loaded.path)
    found: list[tuple[Path, Owner]] = []
    for path in sorted(state_dir.rglob("*.json")) if state_dir.is_dir() else []:
        if not _looks_like_state(path):
            continue
        try:
            owner = read_state(path).owner
        except StateError:
            continue  # an unreadable state is reported by the spec that owns it
        gone = owner is not None and not (state_dir.parent / owner.spec).exists()
        if owner is not None and gone and owner.tenant == loaded.spec.tenant.name:
            found.append((_relative(path), owner))
    return found


def _relative(path: Path) -> Path:
    """A path as short as it can be said from the current directory (messages and plans show it)."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _only_state_file() -> Path:
    files = sorted(p for p in STATE_DIR.rglob("*.json") if _looks_like_state(p)) if STATE_DIR.is_dir() else []
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
        return local_backend(spec_path, choice, loaded)
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


def local_backend(spec_path: Path | None, choice: StateChoice, loaded: LoadedSpec | None) -> LocalBackend:
    """The local file; for a spec's default state not written yet, the state at an older place it takes along
    (only one unclaimed or owned by this spec: another spec's state is never shared)."""
    path = state_path_for(spec_path, choice.state, choice.workspace)
    if spec_path is None or loaded is None or choice.workspace is not None or path.exists():
        return LocalBackend(path)
    if choice.state is not None and choice.state.resolve() != default_state_path(spec_path).resolve():
        return LocalBackend(path)
    owner = owner_for(loaded, None)
    for old in legacy_state_paths(spec_path):
        if old.exists() and _looks_like_state(old) and read_state(old).owner in (None, owner):
            return LocalBackend(path, moved_from=old)
    return LocalBackend(path)
