"""The state file format, version 1.

    {"version": 1, "serial": 7, "lineage": "<uuid>", "tenant": "<tenant id or domain>",
     "owner": {"spec": "teams/a/contoso.yaml", "tenant": "<tenant>", "workspace": "default"},
     "resources": [{"address", "kind", "id", "created_by_reconciler", "depends_on", "attributes"}],
     "intents": [{"address", "kind", "action"}]}

`serial` rises by one on every write that changes something; `lineage` is made once, when the
state is first written, and never changes. `attributes` are the last applied values of the
compared attributes; sensitive (write-only) attributes such as passwords are never recorded.
`resources` is sorted by address, so a state file changes only where its records do.

`owner` (added within version 1; absent until a run claims the state) is the spec the state belongs to:
its path relative to the folder holding its `state/` folder, its tenant and its workspace. A state
written before owners existed has none and is claimed by the first run that writes it.

`intents` (written only while not empty) are the changes apply was writing when the state was written: each is
written before its write and cleared by its result, so one found later was interrupted (or its answer lost) and
the next plan re-reads it (engine/planner.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    ValidationError,
    computed_field,
    model_serializer,
    model_validator,
)
from pydantic_core import InitErrorDetails

FORMAT_VERSION = 1


class ResourceRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str
    kind: str
    id: str | None = None
    created_by_reconciler: bool = False
    depends_on: list[str] = Field(default_factory=list)
    prevent_destroy: bool = False
    attributes: dict[str, Any] = Field(default_factory=dict)


class Owner(BaseModel):
    """The spec a state belongs to (see README, State): plans, applies and drift checks of any other
    spec are refused, so two specs never share, rename or destroy each other's objects."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spec: str  # POSIX path relative to the folder holding the spec's state/ folder, e.g. teams/a/contoso.yaml
    tenant: str
    workspace: str = "default"

    def describe(self) -> str:
        """The spec's path, and its workspace unless the default one (a state of another tenant is refused first)."""
        return self.spec if self.workspace == "default" else f"{self.spec} (workspace {self.workspace})"


class Intent(BaseModel):
    """A change apply is about to write (or writing): its result, once recorded, clears it."""

    model_config = ConfigDict(extra="forbid")

    address: str
    kind: str
    action: str  # create | update | replace | delete (engine.plan.Action)


_RECORDS: TypeAdapter[list[ResourceRecord]] = TypeAdapter(list[ResourceRecord])
_DOCUMENT: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])


def _by_address(records: Iterable[ResourceRecord]) -> dict[str, ResourceRecord]:
    """Records keyed by address; of two with one address the first wins, as `get` always returned it."""
    index: dict[str, ResourceRecord] = {}
    for record in records:
        index.setdefault(record.address, record)
    return index


class State(BaseModel):
    """A workspace's state. Records are held by address (`get`, `put` and `remove` take constant time)
    and sorted only when read as `resources` or serialised, which is what a write does once."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    serial: int = 0
    lineage: str = Field(default_factory=lambda: str(uuid.uuid4()))
    tenant: str | None = None
    owner: Owner | None = None
    intents: list[Intent] = Field(default_factory=list)
    _records: dict[str, ResourceRecord] = PrivateAttr(default_factory=dict)

    if TYPE_CHECKING:  # the constructor pydantic makes, with `resources` (validated below) among its arguments

        def __init__(
            self,
            *,
            version: Literal[1] = 1,
            serial: int = 0,
            lineage: str = ...,
            tenant: str | None = None,
            owner: Owner | None = None,
            intents: list[Intent] = ...,
            resources: Iterable[ResourceRecord | Mapping[str, Any]] = (),
        ) -> None: ...

    @model_validator(mode="wrap")
    @classmethod
    def _index_resources(cls, data: Any, handler: ModelWrapValidatorHandler[State]) -> State:
        """`resources` (a list, as in the file) is validated here and kept in the private index."""
        if not isinstance(data, Mapping) or "resources" not in data:
            return handler(data)
        rest = dict(data)
        raw = rest.pop("resources")
        try:
            records = _RECORDS.validate_python(raw)
        except ValidationError as exc:  # the same errors as a `resources` field's, located under it
            details: list[InitErrorDetails] = []
            for error in exc.errors():
                detail = InitErrorDetails(type=error["type"], loc=("resources", *error["loc"]), input=error["input"])
                if "ctx" in error:
                    detail["ctx"] = error["ctx"]
                details.append(detail)
            raise ValidationError.from_exception_data(cls.__name__, details) from None
        state = handler(rest)
        state._records = _by_address(records)
        return state

    @model_serializer(mode="wrap")
    def _without_unclaimed_owner_or_idle_intents(self, handler: SerializerFunctionWrapHandler) -> Any:
        """An unclaimed state is written as before owners existed (no `owner: null`), and `intents` is left out while
        empty: a state apply is not writing renders as it did before intents."""
        data = handler(self)
        if isinstance(data, dict):
            if data.get("owner") is None:
                data.pop("owner", None)
            if not data.get("intents"):
                data.pop("intents", None)
        return data

    def json_text(self) -> str:
        """The state as `json.dumps(self.model_dump(mode="json"), indent=2)` writes it (non-ASCII text written as it
        is; a float may be spelled otherwise, 0.00001 for 1e-05: the same number), in one pass of pydantic-core: the
        wrap serializer above would build the whole state in Python first."""
        data: dict[str, Any] = {"version": self.version, "serial": self.serial, "lineage": self.lineage}
        data["tenant"] = self.tenant
        if self.owner is not None:
            data["owner"] = self.owner
        if self.intents:
            data["intents"] = self.intents
        data["resources"] = self.resources
        return _DOCUMENT.dump_json(data, indent=2).decode()

    @computed_field  # type: ignore[prop-decorator]  # mypy does not follow decorators stacked on a property
    @property
    def resources(self) -> list[ResourceRecord]:
        """Every record, in address order (a new list: change state through `put` and `remove`)."""
        return sorted(self._records.values(), key=lambda r: r.address)

    @resources.setter
    def resources(self, records: Iterable[ResourceRecord]) -> None:
        self._records = _by_address(records)

    def get(self, address: str) -> ResourceRecord | None:
        return self._records.get(address)

    def put(self, record: ResourceRecord) -> None:
        """Record `record`, replacing the one at its address if any."""
        self._records[record.address] = record

    def remove(self, address: str) -> None:
        self._records.pop(address, None)

    def __copy__(self) -> Self:
        # A copy gets its own index (pydantic copies private attributes shallowly): a `put` on a state
        # after `model_copy(update={"serial": ...})` must not change the copy, as it never did.
        copied = super().__copy__()
        copied._records = dict(self._records)
        return copied

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """As BaseModel's; `update={"resources": [...]}` replaces the records (it would be ignored otherwise)."""
        rest = dict(update or {})
        records = rest.pop("resources", None)
        copied = super().model_copy(update=rest, deep=deep)
        if records is not None:
            copied.resources = records
        return copied
