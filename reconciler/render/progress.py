"""Progress while refreshing and applying: rich progress bars on a terminal, plain lines in CI logs.

terminal                 a bar for the refresh (objects read) and one for the apply (changes done)
not a terminal / CI      no bars; apply prints a line per change (a count every 10 % above 50 per kind)
--quiet                  neither: only results and errors
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, ClassVar

from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from reconciler.engine.plan import Change, Plan


class Reporter:
    """What the user sees while a command works. One per command run."""

    def __init__(self, out: Console, err: Console, quiet: bool = False) -> None:
        self.out, self.err, self.quiet = out, err, quiet
        self.bars = out.is_terminal and not quiet
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()  # refresh reports from the threads of the kinds it reads side by side

    @contextmanager
    def live(self) -> Iterator[Reporter]:
        """Bars (on a terminal) appear as work is reported in the block and disappear when it ends."""
        try:
            yield self
        finally:
            self.pause()

    def pause(self) -> None:
        """Take the bars down (e.g. before asking for approval); the next report puts them back."""
        with self._lock:
            if self._progress is not None:
                self._progress.stop()
            self._progress, self._tasks = None, {}

    def advance(self, phase: str, done: int, total: int, what: str = "") -> None:
        """`done` of `total` objects of `phase` ("Refreshing", "Applying") are through; `what` is the latest."""
        if not self.bars:
            return
        with self._lock:
            if self._progress is None:
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

                columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
                self._progress = Progress(*columns, console=self.out, transient=True)
                self._progress.start()
            if phase not in self._tasks:
                self._tasks[phase] = self._progress.add_task(phase, total=total)
            label = f"{phase} {escape(what)}" if what else phase
            self._progress.update(self._tasks[phase], completed=done, total=total, description=label)

    def refreshed(self, done: int, total: int, kind: str) -> None:
        """Refresh's progress callback (Context.on_read): `done` of `total` objects read, the latest of `kind`."""
        self.advance("Refreshing", done, total, kind)

    def line(self, text: str, console: Console | None = None) -> None:
        if not self.quiet:
            from reconciler.redact import redact

            (console or self.out).print(redact(text))


class ApplyProgress:
    """Apply's progress: a bar on a terminal, else a line per change or a running count per kind."""

    VERBS: ClassVar[dict[str, tuple[str, str]]] = {
        "create": ("creating", "created"),
        "update": ("updating", "updated"),
        "replace": ("replacing", "replaced"),
        "delete": ("destroying", "destroyed"),
        "forget": ("forgetting", "forgotten"),
    }
    MANY = 50  # above this many changes of one kind, print counts every 10 %
    STEPS = 200  # the bar moves at most this many times (each move costs rich some 80 us)

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.totals: dict[str, int] = {}
        self.done: dict[str, int] = {}
        self.finished = 0

    def expect(self, planned: Plan) -> None:
        for change in planned.changes:
            if change.action.value != "no-op":
                self.totals[change.kind] = self.totals.get(change.kind, 0) + 1

    def __call__(self, change: Change, phase: str) -> None:
        if change.action.value == "no-op":
            return
        if phase == "manual":
            self._manual(change)
        elif phase == "failed":
            self.reporter.err.print(f"{escape(change.address)}: [red]failed[/]")
        if phase in ("done", "failed"):
            self.finished += 1
            total = sum(self.totals.values())
            if self.finished == total or self.finished % max(1, total // self.STEPS) == 0:
                self.reporter.advance("Applying", self.finished, total, change.address)
        if self.reporter.bars or phase not in ("start", "done"):
            return
        if self.totals.get(change.kind, 0) > self.MANY:
            if phase == "done":
                self._count(change.kind)
            return
        verb = self.VERBS[change.action.value][0 if phase == "start" else 1]
        self.reporter.line(f"{escape(change.address)}: {verb}{'...' if phase == 'start' else ''}")

    def _manual(self, change: Change) -> None:
        from reconciler.redact import redact
        from reconciler.render.human import manual_lines

        self.reporter.out.print(f"{escape(change.address)}: [bold yellow]needs commands run by hand[/]")
        for text in manual_lines(change.model_dump(mode="json")):
            self.reporter.out.print(redact(text))

    def _count(self, kind: str) -> None:
        done = self.done[kind] = self.done.get(kind, 0) + 1
        total = self.totals[kind]
        if done == total or done % max(1, total // 10) == 0:
            self.reporter.line(f"{kind}: {done}/{total} done")
