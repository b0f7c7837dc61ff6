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
from pathlib import Path
from typing import Any

from bench import SPEC
from bench.serve import RECONCILER, serve
from reconciler.simulator import init_tenant
from reconciler.simulator.tally import writes

PASSWORD = "Bench-only-Pa55word!"


def snapshot_row(size: int = 10_000, latency_ms: int = 30) -> dict[str, Any]:
    """{"mailboxes", "latency_ms", "snapshot_s", "plan_s", "requests", "writes", "twin_mb", "recipients"}: one
    snapshot, and one plan of the same spec before it (the same reads: the snapshot's cost beside a plan's)."""
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-twin-") as folder:
        root = Path(folder)
        tenant = init_tenant(root / "tenant.json", rooms=size)
        with serve([root / "tenant.json"], latency_ms) as server:
            spec = root / "bench.yaml"
            spec.write_text(SPEC.format(tenant_id=tenant["tenant"]["id"], url=server.url), encoding="utf-8")
            plan_s = _timed([*RECONCILER, "plan", str(spec), "--lock=false"])  # the same reads, for scale
            before = server.operations()
            seconds = _timed([*RECONCILER, "sim", "snapshot", str(spec), "--out", str(root / "twin.json")])
            after = server.operations()
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


def main() -> None:
    row = snapshot_row(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
    print(json.dumps(row))


if __name__ == "__main__":
    main()
