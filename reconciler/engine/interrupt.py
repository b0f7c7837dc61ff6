"""Interrupts during apply (SIGINT, SIGTERM), as Terraform handles them: the first is graceful, the second is not.

    first signal      no new change starts; the writes in flight finish (for at most `timeout` seconds), their
                      results are recorded, state is written and the lock released: apply ends in Interrupted
                      ("Interrupted: N done, M not started", exit 130)
    second signal     stops at once, and so does the timeout: Abandoned names the addresses whose writes may
    (or the timeout)  have been carried out without being recorded. State still holds their intents (written
                      before each write, engine/apply.py), so the next plan re-reads them and adopts those that
                      exist as created by reconciler (engine/planner.py).

Before apply writes anything (resolve, refresh, the approval prompt) nothing is in flight, so a signal stops at once.
Python runs signal handlers in the main thread only; elsewhere `watching` installs nothing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

from reconciler.errors import ReconcilerError

DEFAULT_TIMEOUT = 60.0  # seconds the writes in flight may take after the first signal
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(ReconcilerError):
    """Apply stopped after a first signal: what was in flight finished and is recorded in state."""


class Abandoned(KeyboardInterrupt):
    """Apply stopped at once (a second signal, or the writes in flight outlasted the timeout).

    `addresses`: the changes being written then, which may have been carried out without being recorded.
    """

    def __init__(self, addresses: Sequence[str], why: str) -> None:
        super().__init__(why)
        self.addresses = tuple(addresses)
        self.why = why


class Interrupts:
    """The signals of one apply: whether a stop was asked, and what is being written meanwhile."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, notice: Callable[[str], None] = print) -> None:
        self.timeout = timeout
        self.notice = notice  # says, when the first signal arrives, what happens now
        self.requested = False
        self.in_flight: tuple[str, ...] = ()
        self._applying = False
        self._expired = False
        self._timer: threading.Timer | None = None

    def stopping(self) -> bool:
        """Whether a stop was asked: a write not started yet must not start (backends ask, see Context)."""
        return self.requested

    @contextmanager
    def watching(self) -> Iterator[Interrupts]:
        """Handle SIGINT and SIGTERM during the block (main thread only); the previous handlers afterwards."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {number: signal.getsignal(number) for number in SIGNALS}
        for number in SIGNALS:
            signal.signal(number, self._received)
        try:
            yield self
        finally:
            self._cancel_timer()
            for number, handler in previous.items():
                signal.signal(number, handler)

    @contextmanager
    def applying(self) -> Iterator[None]:
        """Apply's writing phase: a first signal now lets what is in flight finish."""
        self._applying = True
        try:
            yield
        finally:
            self._applying = False

    @contextmanager
    def writing(self, addresses: Sequence[str]) -> Iterator[None]:
        """The changes at `addresses` are being written during the block."""
        self.in_flight = tuple(addresses)
        try:
            yield
        finally:
            self.in_flight = ()
            self._cancel_timer()  # what was in flight is done: recording it is not bounded by the timeout

    def _received(self, signum: int, frame: FrameType | None) -> None:
        if self._expired:
            raise Abandoned(self.in_flight, f"the writes in flight did not finish within {self.timeout:g} s")
        if self.requested or not self._applying:
            raise Abandoned(self.in_flight, "stopped at once")
        self.requested = True
        self.notice(self._message())
        if self.in_flight:
            self._start_timer()

    def _message(self) -> str:
        count = len(self.in_flight)
        if not count:
            return "Interrupt received: stopping before the next change; press Ctrl-C again to stop at once"
        # a bulk chunk is under way as a whole, but only part of it may be sent yet: the rest is not sent now
        writes = "the write in flight" if count == 1 else f"the writes in flight (of {count} under way)"
        return (
            f"Interrupt received: finishing {writes}, up to {self.timeout:g} s; no new write starts; "
            "press Ctrl-C again to stop at once"
        )

    def _start_timer(self) -> None:
        self._timer = threading.Timer(self.timeout, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        """The timeout: as a second signal, sent to the main thread, whose wait for an answer it interrupts."""
        self._expired = True
        main = threading.main_thread().ident
        if hasattr(signal, "pthread_kill") and main is not None:
            signal.pthread_kill(main, signal.SIGINT)
        else:  # Windows: the handler runs when the main thread next runs Python code
            signal.raise_signal(signal.SIGINT)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
