"""The one error tree of reconciler.

    ReconcilerError(summary, detail, location)
     ├── SpecError          the spec (or a file it names) is wrong; location = file:line:column + field
     ├── ClientError        the tenant could not be read or written; detail = the service's own words
     ├── StateError         the state file is unreadable, of another format version, or of another tenant
     │    └── StateLockError  another run holds the state lock; detail names the holder
     ├── PlanError          a saved plan cannot be applied (stale, corrupt, other spec)
     └── NotStarted         a write not started because apply was interrupted (a result, never raised)

Every error is shown to the user as summary, detail and location, never as a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where in an input file a problem sits."""

    file: str
    line: int | None = None
    column: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        if self.field:
            where += f" ({self.field})"
        return where


class ReconcilerError(Exception):
    """Base error: a one-line summary, an optional detail saying how to fix it, an optional location."""

    def __init__(self, summary: str, detail: str = "", location: Location | None = None) -> None:
        super().__init__(summary)
        self.summary = summary
        self.detail = detail
        self.location = location

    def __str__(self) -> str:
        text = f"{self.location}: {self.summary}" if self.location else self.summary
        return f"{text}\n  {self.detail}" if self.detail else text


class SpecError(ReconcilerError):
    """A spec problem. `problems` holds every problem found, so all are reported at once."""

    def __init__(
        self,
        summary: str,
        detail: str = "",
        location: Location | None = None,
        problems: list[ReconcilerError] | None = None,
    ) -> None:
        super().__init__(summary, detail, location)
        self.problems = problems or [self]


class ClientError(ReconcilerError):
    """A call to the tenant failed. `status` is the HTTP status when there was one."""

    def __init__(self, summary: str, detail: str = "", status: int | None = None) -> None:
        super().__init__(summary, detail)
        self.status = status


class StateError(ReconcilerError):
    """The state file cannot be used."""


class StateLockError(StateError):
    """Another run holds the state lock."""


class PlanError(ReconcilerError):
    """A saved plan cannot be applied."""


class NotStarted(ReconcilerError):
    """A write that was not started because apply was interrupted: nothing was sent for it (a bulk write's result)."""
