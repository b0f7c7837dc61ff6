"""Refresh reports progress from the threads of the kinds it reads side by side: one set of bars, however many
threads report at once (two would make rich refuse a second live display and end the run)."""

from __future__ import annotations

import io
import threading

from rich.console import Console

from reconciler.render.progress import Reporter


def test_reports_from_many_threads_at_once_share_one_bar() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    reporter = Reporter(console, console)
    start = threading.Barrier(16)
    failures: list[BaseException] = []

    def report(n: int) -> None:
        start.wait()
        try:
            for done in range(50):
                reporter.refreshed(done, 100 + n, f"kind{n}")
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=report, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with reporter.live():
        pass  # takes the bars down
    assert failures == []
    assert "Refreshing" in screen.getvalue()
