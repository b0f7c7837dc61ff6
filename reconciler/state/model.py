"""The state file format, version 1.

    {"version": 1, "serial": 7, "lineage": "<uuid>", "tenant": "<tenant id or domain>",
     "resources": [{"address", "kind", "id", "created_by_reconciler", "depends_on", "attributes"}]}

`serial` rises by one on every write that changes something; `lineage` is made once, when the
state is first written, and never changes. `attributes` are the last applied values of the
compared attributes; sensitive (write-only) attributes such as passwords are never recorded.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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


class State(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    serial: int = 0
    lineage: str = Field(default_factory=lambda: str(uuid.uuid4()))
    tenant: str | None = None
    resources: list[ResourceRecord] = Field(default_factory=list)

    def get(self, address: str) -> ResourceRecord | None:
        return next((r for r in self.resources if r.address == address), None)

    def put(self, record: ResourceRecord) -> None:
        self.resources = [r for r in self.resources if r.address != record.address] + [record]
        self.resources.sort(key=lambda r: r.address)

    def remove(self, address: str) -> None:
        self.resources = [r for r in self.resources if r.address != address]
