"""Check Graph JSON against Microsoft Graph's published v1.0 CSDL (the ``$metadata`` document).

:class:`Csdl` reads a CSDL XML file (Microsoft's whole ``cleanMetadata.xml`` or any extract of it in the same
format) and keeps the ``microsoft.graph`` EntityType, ComplexType and EnumType definitions.
:meth:`Csdl.check_entity` reports every way a JSON object differs from a type:

- a property name the type (with its base types) does not define; ``@odata.*`` control information aside;
- a value of the wrong JSON type for its Edm type (Edm.String, Edm.Boolean, Edm.Int32/Int64, Edm.Double,
  Edm.Guid, Edm.DateTimeOffset, Edm.Date, Edm.Binary), an enum value that is not a member, a complex value
  checked recursively (a derived type named by ``@odata.type``), collections element by element;
- ``null`` where the CSDL says ``Nullable="false"`` (for a collection: a null element, or null instead of ``[]``);
- with ``expected``: a missing property, or one more than expected (``$select``: only the selected ones, and ``id``).

The CSDL is not committed here (tests/simulator/data/README.md says where it comes from): :func:`find_csdl` looks
for it and the tests that need it skip without it.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
NAMESPACE = "microsoft.graph"
REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
CANDIDATES = (
    DATA / "cleanMetadata.xml",
    REPO.parent / "shared" / "msgraph-metadata" / "clean_v10_metadata" / "cleanMetadata.xml",
)
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$")


def find_csdl() -> Path | None:
    """The v1.0 CSDL to check against: $RECONCILER_GRAPH_CSDL, else the first candidate that exists."""
    configured = os.environ.get("RECONCILER_GRAPH_CSDL")
    if configured:
        return Path(configured)
    return next((path for path in CANDIDATES if path.exists()), None)


@dataclass(frozen=True)
class Property:
    name: str
    type: str  # "Edm.String", "graph.emailAddress", "Collection(Edm.String)" ...
    nullable: bool

    @property
    def is_collection(self) -> bool:
        return self.type.startswith("Collection(")

    @property
    def element(self) -> str:
        return self.type[len("Collection(") : -1] if self.is_collection else self.type


@dataclass
class TypeDef:
    kind: str  # EntityType | ComplexType | EnumType
    name: str
    base: str | None = None
    properties: dict[str, Property] = field(default_factory=dict)
    members: tuple[str, ...] = ()
    flags: bool = False


def _local(name: str | None) -> str | None:
    """``graph.x`` / ``microsoft.graph.x`` -> ``x``."""
    if name is None:
        return None
    for prefix in ("graph.", f"{NAMESPACE}."):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


class Csdl:
    """The microsoft.graph types of a CSDL document."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.types: dict[str, TypeDef] = {}
        root = ET.parse(path).getroot()
        schema = next(s for s in root.iter(f"{EDM}Schema") if s.get("Namespace") == NAMESPACE)
        for element in schema:
            kind = element.tag.removeprefix(EDM)
            if kind not in ("EntityType", "ComplexType", "EnumType"):
                continue
            name = str(element.get("Name"))
            typedef = TypeDef(kind, name, _local(element.get("BaseType")), flags=element.get("IsFlags") == "true")
            for child in element:
                if child.tag == f"{EDM}Property":
                    prop = Property(str(child.get("Name")), str(child.get("Type")), child.get("Nullable") != "false")
                    typedef.properties[prop.name] = prop
                elif child.tag == f"{EDM}Member":
                    typedef.members += (str(child.get("Name")),)
            self.types[name] = typedef
        self.used: set[str] = set()  # types a check looked at (for the coverage count)
        self.checked: set[tuple[str, str]] = set()  # (type, property) pairs a check saw a value for

    def chain(self, name: str) -> list[TypeDef]:
        """The type and its base types, most derived first."""
        found: list[TypeDef] = []
        current: str | None = name
        while current is not None:
            typedef = self.types[current]
            found.append(typedef)
            current = typedef.base
        return found

    def properties(self, name: str) -> dict[str, Property]:
        """Structural properties of a type, its base types' included (navigation properties are not)."""
        merged: dict[str, Property] = {}
        for typedef in reversed(self.chain(name)):
            merged.update(typedef.properties)
        return merged

    def is_derived(self, name: str, base: str) -> bool:
        return any(t.name == base for t in self.chain(name))

    # --- checks ----------------------------------------------------------------------------------

    def check_entity(
        self, value: Any, type_name: str, *, expected: Iterable[str] | None = None, where: str = "$"
    ) -> list[str]:
        """Problems of ``value`` as an instance of ``type_name`` (empty list: it conforms)."""
        problems: list[str] = []
        if not isinstance(value, dict):
            return [f"{where}: expected an object of {type_name}, got {type(value).__name__}"]
        actual = self._derived_type(value, type_name, where, problems)
        props = self.properties(actual)
        self.used.update(t.name for t in self.chain(actual))
        for key, item in value.items():
            if key.startswith("@odata."):
                continue
            if "@" in key:
                problems.append(f"{where}.{key}: property annotations are not expected")
                continue
            prop = props.get(key)
            if prop is None:
                problems.append(f"{where}.{key}: not a property of {actual} (or its base types)")
                continue
            owner = next(t.name for t in self.chain(actual) if key in t.properties)
            self.checked.add((owner, key))
            problems += self._check_value(item, prop, f"{where}.{key}")
        if expected is not None:
            wanted = set(expected)
            missing = sorted(wanted - set(value))
            extra = sorted(k for k in value if not k.startswith("@") and k not in wanted)
            if missing:
                problems.append(f"{where}: missing {', '.join(missing)}")
            if extra:
                problems.append(f"{where}: not expected here: {', '.join(extra)}")
        return problems

    def all_properties(self, type_name: str, *, without: Iterable[str] = ()) -> list[str]:
        """Every structural property name of a type (for a response with no ``$select``)."""
        skip = set(without)
        return [name for name in self.properties(type_name) if name not in skip]

    def _derived_type(self, value: dict[str, Any], type_name: str, where: str, problems: list[str]) -> str:
        declared = value.get("@odata.type")
        if declared is None:
            return type_name
        name = _local(str(declared).lstrip("#"))
        if name not in self.types or not self.is_derived(name, type_name):
            problems.append(f"{where}: @odata.type {declared!r} is not {type_name} or derived from it")
            return type_name
        if not str(declared).startswith("#"):
            problems.append(f"{where}: @odata.type {declared!r} in a response starts with '#'")
        return name

    def _check_value(self, value: Any, prop: Property, where: str) -> list[str]:
        if value is None:
            if prop.is_collection:
                return [f"{where}: null for a collection (Graph returns [])"]
            return [] if prop.nullable else [f"{where}: null, but {prop.name} is not nullable"]
        if not prop.is_collection:
            return self._check_single(value, prop.element, where)
        if not isinstance(value, list):
            return [f"{where}: expected a JSON array for {prop.type}"]
        problems: list[str] = []
        for n, item in enumerate(value):
            if item is None:
                if not prop.nullable:
                    problems.append(f"{where}[{n}]: null element")
                continue
            problems += self._check_single(item, prop.element, f"{where}[{n}]")
        return problems

    def _check_single(self, value: Any, type_name: str, where: str) -> list[str]:
        if type_name.startswith("Edm."):
            return [] if _edm_ok(value, type_name) else [f"{where}: {value!r} is not an {type_name}"]
        name = _local(type_name)
        assert name is not None
        typedef = self.types.get(name)
        if typedef is None:
            return [f"{where}: unknown type {type_name}"]
        self.used.add(name)
        if typedef.kind == "EnumType":
            return self._check_enum(value, typedef, where)
        return self.check_entity(value, name, where=where)

    def _check_enum(self, value: Any, typedef: TypeDef, where: str) -> list[str]:
        if not isinstance(value, str):
            return [f"{where}: {value!r} is not a {typedef.name} member name"]
        names = [part.strip() for part in value.split(",")] if typedef.flags else [value]
        bad = [n for n in names if n not in typedef.members]
        return [f"{where}: {n!r} is not a member of {typedef.name} {list(typedef.members)}" for n in bad]


def _edm_ok(value: Any, edm: str) -> bool:
    if edm == "Edm.String":
        return isinstance(value, str)
    if edm == "Edm.Boolean":
        return isinstance(value, bool)
    if edm in ("Edm.Int32", "Edm.Int64", "Edm.Int16", "Edm.Byte"):
        return isinstance(value, int) and not isinstance(value, bool)
    if edm in ("Edm.Double", "Edm.Single", "Edm.Decimal"):
        return (isinstance(value, int | float) and not isinstance(value, bool)) or value in ("NaN", "INF", "-INF")
    if edm == "Edm.Guid":
        return isinstance(value, str) and _is_guid(value)
    if edm == "Edm.DateTimeOffset":
        return isinstance(value, str) and _DATETIME.match(value) is not None and _parses(value)
    if edm == "Edm.Date":
        return isinstance(value, str) and _is_date(value)
    if edm == "Edm.Binary":
        return isinstance(value, str) and _is_base64(value)
    return isinstance(value, str)  # Duration, TimeOfDay, Stream: strings on the wire


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36


def _parses(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True
