"""The lock files `make install` installs from agree with pyproject.toml (read offline; `make lock` rewrites them).

requirements-dev.lock pins the runtime dependencies, the dev extra and the build requirements (the editable
install builds without isolation, with the locked setuptools); requirements.lock pins the runtime ones and
the build requirements, at the same versions. Every pin carries hashes (`pip install --require-hashes`).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import REPO

RUNTIME_LOCK = REPO / "requirements.lock"
DEV_LOCK = REPO / "requirements-dev.lock"
REFRESH = "pyproject.toml and the lock files disagree: run `make lock` and commit requirements*.lock"

PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class Pin:
    version: Version
    hashes: int


def read_lock(path: Path) -> dict[str, Pin]:
    """Canonical name -> pin. An entry is `name==version \\` and its `--hash=...` continuation lines."""
    pins: dict[str, Pin] = {}
    name: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            match = PIN.match(line)
            assert match, f"{path.name}: not an exact pin: {line!r}"
            name = canonicalize_name(match["name"])
            assert name not in pins, f"{path.name}: {name} pinned twice"
            pins[name] = Pin(Version(match["version"]), len(HASH.findall(line)))
        else:
            assert name is not None, f"{path.name}: a continuation line before any pin: {line!r}"
            pins[name] = Pin(pins[name].version, pins[name].hashes + len(HASH.findall(line)))
    return pins


def declared(group: str) -> list[Requirement]:
    """pyproject.toml's requirements: "runtime" (project.dependencies), "build" (build-system.requires) or an extra."""
    with (REPO / "pyproject.toml").open("rb") as f:
        data = tomllib.load(f)
    texts: list[str]
    if group == "runtime":
        texts = data["project"]["dependencies"]
    elif group == "build":
        texts = data["build-system"]["requires"]
    else:
        texts = data["project"]["optional-dependencies"][group]
    return [Requirement(text) for text in texts]


@pytest.mark.parametrize(
    ("lock", "groups"),
    [(RUNTIME_LOCK, ("runtime", "build")), (DEV_LOCK, ("runtime", "dev", "build"))],
    ids=["requirements.lock", "requirements-dev.lock"],
)
def test_every_declared_dependency_is_pinned_within_its_range(lock: Path, groups: tuple[str, ...]) -> None:
    pins = read_lock(lock)
    for group in groups:
        for requirement in declared(group):
            if requirement.marker is not None and not requirement.marker.evaluate():
                continue
            name = canonicalize_name(requirement.name)
            assert name in pins, f"{lock.name} does not pin {requirement.name} ({group}). {REFRESH}"
            version = pins[name].version
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{lock.name} pins {name}=={version}, outside {requirement} ({group}). {REFRESH}"
            )


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, DEV_LOCK], ids=["requirements.lock", "requirements-dev.lock"])
def test_every_pin_has_hashes(lock: Path) -> None:
    pins = read_lock(lock)
    assert pins, f"{lock.name} pins nothing"
    assert not [name for name, pin in pins.items() if pin.hashes == 0], f"pins without hashes in {lock.name}"


def test_the_runtime_lock_pins_the_same_versions_as_the_dev_lock() -> None:
    runtime, dev = read_lock(RUNTIME_LOCK), read_lock(DEV_LOCK)
    only = sorted(set(runtime) - set(dev))
    assert not only, f"pinned in requirements.lock only: {only}. {REFRESH}"
    differ = {name: (str(pin.version), str(dev[name].version)) for name, pin in runtime.items()}
    differ = {name: versions for name, versions in differ.items() if versions[0] != versions[1]}
    assert not differ, f"the two lock files pin other versions: {differ}. {REFRESH}"


def test_the_lock_parser_reads_a_hashed_entry_and_refuses_a_range(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    lock.write_text(
        "# header\nRuamel.Yaml==0.19.1 \\\n    --hash=sha256:" + "a" * 64 + " \\\n    --hash=sha256:" + "b" * 64
        + "\n    # via reconciler (pyproject.toml)\n",
        encoding="utf-8",
    )
    assert read_lock(lock) == {"ruamel-yaml": Pin(Version("0.19.1"), 2)}
    lock.write_text("httpx>=0.27\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="not an exact pin"):
        read_lock(lock)
