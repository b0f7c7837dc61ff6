"""The twin row of `make bench`: `reconciler sim snapshot` of a tenant of 10,000 room mailboxes (issue 19).

Self-contained: a simulated tenant with `size` rooms (each a calendar permission to read) served by
`sim serve --latency-ms 30` in its own process, and the bench's free/busy spec pointed at it; one `sim snapshot`
process, timed beside a plan of the same spec, with the requests it made from the served tenant's request log
(`/_simulator/stats`: every one a read) and the twin's size. `python -m bench.twin [SIZE]` runs it alone;
`python -m bench --only twin` as a part of the bench (results.json `"twin"`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench import SPEC
from reconciler.simulator import init_tenant
from reconciler.simulator.tally import writes

RECONCILER = [sys.executable, "-m", "reconciler"]
PASSWORD = "Bench-only-Pa55word!"


def snapshot_row(size: int = 10_000, latency_ms: int = 30) -> dict[str, Any]:
    """{"mailboxes", "latency_ms", "snapshot_s", "plan_s", "requests", "writes", "twin_mb", "recipients"}: one
    snapshot, and one plan of the same spec before it (the same reads: the snapshot's cost beside a plan's)."""
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-twin-") as folder:
        root = Path(folder)
        tenant = init_tenant(root / "tenant.json", rooms=size)
        serve = ["sim", "serve", str(root / "tenant.json"), "--port", "0", "--latency-ms", str(latency_ms)]
        server = subprocess.Popen([*RECONCILER, *serve], stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            url = next(word for word in server.stdout.readline().split() if word.startswith("http://"))
            spec = root / "bench.yaml"
            spec.write_text(SPEC.format(tenant_id=tenant["tenant"]["id"], url=url), encoding="utf-8")
            plan_s = _timed([*RECONCILER, "plan", str(spec), "--lock=false"])  # the same reads, for scale
            before = _operations(url)
            seconds = _timed([*RECONCILER, "sim", "snapshot", str(spec), "--out", str(root / "twin.json")])
            after = _operations(url)
        finally:
            server.terminate()
            server.wait(30)
        made = {op: n - before.get(op, 0) for op, n in after.items() if n - before.get(op, 0)}
        twin = json.loads((root / "twin.json").read_text(encoding="utf-8"))
        return {
            "mailboxes": size,
            "latency_ms": latency_ms,
            "snapshot_s": round(seconds, 3),
            "plan_s": round(plan_s, 3),
            "requests": sum(made.values()),  # a $batch counts once per request inside it
            "writes": sum(writes(made).values()),
            "twin_mb": round((root / "twin.json").stat().st_size / 1e6, 1),
            "recipients": len(twin["exchange"]["recipients"]),
        }


def _timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env={**os.environ, "BENCH_SVC_PASSWORD": PASSWORD})
    return time.perf_counter() - start


def _operations(url: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{url}/_simulator/stats", timeout=30) as answer:  # loopback only
        return dict(json.loads(answer.read())["operations"])


def main() -> None:
    row = snapshot_row(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
    print(json.dumps(row))


if __name__ == "__main__":
    main()
