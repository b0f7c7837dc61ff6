"""Who may import whom, read from the source (ast), so a wrong import fails here rather than in review.

- reconciler/simulator/ is a stand-alone loopback tenant: it imports nothing of reconciler outside itself.
- The product never imports the simulator, except the CLI that starts it (tests/ and bench/ may).
- No product module imports another module's private (underscore) names.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PRODUCT = "reconciler"
SIMULATOR = "reconciler.simulator"
CLI = "reconciler.cli"


@dataclass(frozen=True)
class Import:
    """One imported module (`module`), or one name imported from it (`name`), bound to `alias` if renamed;
    `call`: `importlib.import_module("x")` or `__import__("x")` with a literal name (binds no name here)."""

    module: str
    name: str | None
    line: int
    alias: str | None = None
    call: bool = False


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(dotted: str) -> bool:
    base = REPO.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("__")


def imports(source: str, module: str, is_package: bool = False) -> list[Import]:
    """Every import in `source` (the text of `module`), anywhere in it, in line order, relative ones resolved;
    one above the top-level package resolves to "" (it cannot be anything the package owns)."""
    return sorted(_imports(source, module, is_package), key=lambda i: i.line)


def _imports(source: str, module: str, is_package: bool) -> Iterator[Import]:
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for name in node.names:
                yield Import(name.name, None, node.lineno, name.asname)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                origin = node.module or ""
            elif node.level > len(package):
                origin = ""
            else:
                origin = ".".join([*package[: len(package) - node.level + 1], *([node.module] if node.module else [])])
            for name in node.names:
                yield Import(origin, name.name, node.lineno, name.asname)
        elif (
            isinstance(node, ast.Call)
            and ast.unparse(node.func) in ("importlib.import_module", "import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield Import(node.args[0].value, None, node.lineno, call=True)


def imported_modules(found: Import) -> list[str]:
    """The modules an import loads: `from a import b` loads a, and a.b too when b is a module."""
    if found.name is None or not found.module:
        return [found.module]
    submodule = f"{found.module}.{found.name}"
    return [found.module, submodule] if is_module(submodule) else [found.module]


def private_uses(source: str, module: str, is_package: bool = False) -> list[str]:
    """Private names of other product modules that `module` uses, in line order: `from reconciler.x import _y`,
    and `m._y` where m names a product module (`import reconciler.x as m`, `from reconciler import x as m`)."""
    return [use for _, use in sorted(_private_uses(source, module, is_package))]


def _private_uses(source: str, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    modules: dict[str, str] = {}  # a local name bound to a product module -> that module
    for found in imports(source, module, is_package):
        if not within(found.module, PRODUCT) or found.module == module or found.call:
            continue
        if found.name is None:  # import a.b (binds a) / import a.b as m (binds m to a.b)
            top = found.module.split(".")[0]
            modules[found.alias or top] = found.module if found.alias else top
        elif is_private(found.name):
            yield found.line, f"line {found.line}: from {found.module} import {found.name}"
        elif is_module(f"{found.module}.{found.name}"):
            modules[found.alias or found.name] = f"{found.module}.{found.name}"
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Attribute) and is_private(node.attr)):
            continue
        chain: list[str] = []
        owner: ast.expr = node.value
        while isinstance(owner, ast.Attribute):
            chain.insert(0, owner.attr)
            owner = owner.value
        if isinstance(owner, ast.Name) and owner.id in modules:
            target = ".".join([modules[owner.id], *chain])
            if target != module and is_module(target):
                yield node.lineno, f"line {node.lineno}: {ast.unparse(node)} ({target}.{node.attr})"


def product_modules(under: str = PRODUCT) -> list[tuple[str, Path]]:
    folder = REPO.joinpath(*under.split("."))
    found = sorted((module_name(path), path) for path in folder.rglob("*.py"))
    assert found, f"no modules under {folder}"
    return found


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


# -- the rules ----------------------------------------------------------------------------------
def test_the_simulator_imports_nothing_of_the_product_outside_itself() -> None:
    wrong = [
        f"{module}:{found.line} imports {found.module or 'above the top-level package'}"
        + (f" ({found.name})" if found.name else "")
        for module, path in product_modules(SIMULATOR)
        for found in imports(read(path), module, path.name == "__init__.py")
        if (within(found.module, PRODUCT) and not within(found.module, SIMULATOR)) or not found.module
    ]
    assert not wrong, "the simulator must stand alone:\n" + "\n".join(wrong)


def test_only_the_cli_imports_the_simulator() -> None:
    wrong = [
        f"{module}:{found.line} imports {target}"
        for module, path in product_modules()
        if not within(module, SIMULATOR) and not within(module, CLI)
        for found in imports(read(path), module, path.name == "__init__.py")
        for target in imported_modules(found)
        if within(target, SIMULATOR)
    ]
    assert not wrong, "only reconciler/cli/ starts the simulator:\n" + "\n".join(wrong)


def test_no_product_module_uses_another_modules_private_names() -> None:
    wrong = [
        f"{module}: {use}"
        for module, path in product_modules()
        for use in private_uses(read(path), module, path.name == "__init__.py")
    ]
    assert not wrong, "private names used outside their module:\n" + "\n".join(wrong)


# -- the checks themselves, on made-up modules ----------------------------------------------------
def test_imports_resolves_relative_imports_and_flags_escapes() -> None:
    source = (
        "import os\n"
        "from . import faults\n"
        "from .graph import handler\n"
        "from .. import errors\n"
        "from ...... import nothing\n"
        "import importlib\n"
        "importlib.import_module('reconciler.state')\n"
        "def later():\n"
        "    from reconciler.spec import models\n"
    )
    found = [(i.module, i.name) for i in imports(source, "reconciler.simulator.server")]
    assert found == [
        ("os", None),
        ("reconciler.simulator", "faults"),
        ("reconciler.simulator.graph", "handler"),
        ("reconciler", "errors"),
        ("", "nothing"),
        ("importlib", None),
        ("reconciler.state", None),
        ("reconciler.spec", "models"),
    ]
    in_package = [(i.module, i.name) for i in imports("from . import store", "reconciler.simulator", True)]
    assert in_package == [("reconciler.simulator", "store")]


def test_imported_modules_sees_a_submodule_imported_by_name() -> None:
    assert imported_modules(Import("reconciler", "simulator", 1)) == ["reconciler", "reconciler.simulator"]
    assert imported_modules(Import("reconciler.simulator", "Simulator", 1)) == ["reconciler.simulator"]


def test_private_uses_finds_imported_names_and_module_attributes() -> None:
    source = (
        "import reconciler.state.model\n"
        "import reconciler.state.store as store\n"
        "from reconciler.state import lock as locking\n"
        "from reconciler.state.select import _only_state_file, StateChoice\n"
        "from .model import _by_address\n"
        "from reconciler import __version__\n"
        "x = locking._held(1)\n"
        "y = reconciler.state.model._by_address\n"
        "z = store.write_private, store.__name__, StateChoice._fields\n"
    )
    found = private_uses(source, "reconciler.state.backend")
    assert found == [
        "line 4: from reconciler.state.select import _only_state_file",
        "line 5: from reconciler.state.model import _by_address",
        "line 7: locking._held (reconciler.state.lock._held)",
        "line 8: reconciler.state.model._by_address (reconciler.state.model._by_address)",
    ]
    assert not private_uses("from reconciler.state.model import _by_address", "reconciler.state.model")
