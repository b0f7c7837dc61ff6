"""Kinds resolve and read side by side (engine/resolve.each_kind, engine/refresh): the error raised and the
progress reported are those of one kind after another."""

from __future__ import annotations

import threading

import pytest

from reconciler.engine.resolve import Failed, Stage, each_kind
from reconciler.resources import KINDS
from reconciler.resources.base import ReadCount

NAMES = list(KINDS)
FIRST, SECOND, LAST = NAMES[0], NAMES[1], NAMES[-1]


def test_every_kind_runs_once_and_its_result_is_kept_by_name() -> None:
    seen: list[str] = []
    lock = threading.Lock()

    def work(name: str, failed: threading.Event) -> str:
        with lock:
            seen.append(name)
        return name.upper()

    assert each_kind(work) == {name: name.upper() for name in KINDS}
    assert sorted(seen) == sorted(KINDS)


def test_a_resolve_error_of_a_later_kind_wins_over_a_read_error_of_an_earlier_one() -> None:
    """One kind after another, every kind resolves before any reads: the later kind's SpecError is what the user
    would have seen, not the earlier kind's failed read."""

    def work(name: str, failed: threading.Event) -> None:
        if name == FIRST:
            raise Failed(Stage.READ, RuntimeError("read failed"))
        if name == LAST:
            raise Failed(Stage.RESOLVE, ValueError("unknown group"))

    with pytest.raises(ValueError, match="unknown group"):
        each_kind(work)


def test_of_two_errors_of_one_stage_the_first_kind_in_registry_order_wins() -> None:
    def work(name: str, failed: threading.Event) -> None:
        if name in (SECOND, LAST):
            raise Failed(Stage.READ, RuntimeError(name))

    with pytest.raises(RuntimeError, match=f"^{SECOND}$"):
        each_kind(work)


def test_a_plain_exception_counts_as_a_resolve_error_and_sets_failed() -> None:
    flags: dict[str, bool] = {}
    first_failed = threading.Event()

    def work(name: str, failed: threading.Event) -> None:
        if name == LAST:
            raise KeyError("boom")
        if name == FIRST:
            first_failed.wait(5)  # the last kind fails meanwhile
            flags[name] = failed.wait(5)
            raise Failed(Stage.READ, RuntimeError("late read"))

    def fail_last(name: str, failed: threading.Event) -> None:
        try:
            work(name, failed)
        finally:
            if name == LAST:
                first_failed.set()

    with pytest.raises(KeyError):
        each_kind(fail_last)
    assert flags == {FIRST: True}


def test_read_count_reports_each_kinds_progress_against_the_growing_total() -> None:
    reports: list[tuple[int, int, str]] = []
    count = ReadCount(lambda done, total, kind: reports.append((done, total, kind)))
    count.expect(3)
    count.add("room", 2)
    count.expect(10)
    count.add("calendar_permission", 4)
    count.finish("room", 3)  # what the kind says at the end stands, whatever it reported on the way
    count.finish("calendar_permission", 10)
    assert reports == [(2, 3, "room"), (6, 13, "calendar_permission"), (7, 13, "room"), (13, 13, "calendar_permission")]


def test_read_count_never_reports_more_read_than_expected() -> None:
    reports: list[tuple[int, int, str]] = []
    count = ReadCount(lambda done, total, kind: reports.append((done, total, kind)))
    count.add("room", 2)  # its total is not known yet
    assert reports == [(2, 2, "room")]


def test_read_count_reports_nothing_once_stopped() -> None:
    reports: list[tuple[int, int, str]] = []
    count = ReadCount(lambda done, total, kind: reports.append((done, total, kind)))
    count.expect(2)
    count.add("room", 1)
    count.stop()  # e.g. interrupted: the kinds' threads may still be reading
    count.add("room", 1)
    assert reports == [(1, 2, "room")]
