"""`reconciler sim serve` in its own process for the bench's parts: the served tenant's URL, pid and request log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECONCILER = [sys.executable, "-m", "reconciler"]


@dataclass
class Served:
    """One `reconciler sim serve` process."""

    process: subprocess.Popen[str]
    url: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_simulator/stats", timeout=60) as answer:  # loopback only
            stats: dict[str, Any] = json.loads(answer.read())
            return stats

    def operations(self) -> dict[str, int]:
        """The request log: requests by operation (a $batch counts once per request inside it)."""
        return dict(self.stats()["operations"])

    def requests(self) -> int:
        return int(self.stats()["requests_served"])


@contextmanager
def serve(files: list[Path], latency_ms: int = 0, extra: list[str] | None = None) -> Iterator[Served]:
    """`reconciler sim serve FILE... --latency-ms MS` in its own process, stopped (SIGTERM) on the way out (the bench's
    parts and the tests that need a tenant served by another process)."""
    command = [*RECONCILER, "sim", "serve", *map(str, files), "--port", "0", "--latency-ms", str(latency_ms)]
    process = subprocess.Popen(
        [*command, *(extra or [])], stdout=subprocess.PIPE, text=True, env={**os.environ, "NO_COLOR": "1"}
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = next((word for word in line.split() if word.startswith("http://")), None)
        if url is None:
            raise SystemExit(f"sim serve did not start: {line!r}")
        yield Served(process, url)
    finally:
        process.terminate()  # SIGTERM: it folds its journal in and exits
        try:
            process.wait(120)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
