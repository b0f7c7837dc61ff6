"""`make bench` (python -m bench [--sizes 100,1000,10000] [--latency-ms 30] [--only help|plan|state ...]).

For each size: a simulated tenant with that many room mailboxes, each with a calendar permission to
reconcile, served by `reconciler sim serve --latency-ms 30` in its own process; then `reconciler plan`
(bulk: $batch, bounded concurrency) and the sequential baseline (`--no-batch --parallelism 1`, one
request per object), each a fresh process whose wall time, peak RSS, CPU time and requests served are
measured. The simulator's own CPU time is measured apart (from /proc while each plan runs, and for its
whole life when it exits), so the cost of the test double is not taken for the product's.
Writes bench/results.json and prints a table. Targets (issue 4): 10,000 mailboxes planned in < 10 s with
<= 10,000/20 + 50 requests and < 400 MB, >= 20x faster than sequential; 1,000 in < 2 s; --help < 0.5 s;
the 10,000 figure within 12x the 1,000 one.

The state row (issue 12) is in-process: build 10,000 ResourceRecords, put each into a State, get each,
and render it once as a write does; target < 0.5 s (median of 5). `--only state` runs it alone in
seconds; `--only` keeps what bench/results.json holds for the parts not run, and judges only those run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.twin import snapshot_row
from reconciler.simulator import init_tenant
from reconciler.state.backend import render_state
from reconciler.state.model import ResourceRecord, State

HERE = Path(__file__).resolve().parent
PARTS = ("help", "plan", "state", "twin")
STATE_RECORDS = 10_000
RECONCILER = [sys.executable, "-m", "reconciler"]
PASSWORD = "Bench-only-Pa55word!"
SPEC = """\
version: 1
tenant:
  id: {tenant_id}
  domain: contoso.onmicrosoft.com
  simulator: {url}
target: exchange_online
service_account:
  user_principal_name: cronofy-svc@contoso.onmicrosoft.com
  display_name: Cronofy Service Account
  password: ${{env:BENCH_SVC_PASSWORD}}
  usage_location: US
  licenses: [EXCHANGESTANDARD]
integration:
  app_id: 10bb7e5b-b80b-4e6e-a209-f78581dbc79e
access:
  level: free_busy
  scope_group: cronofy-scope@contoso.com
  mailboxes:
    group: cronofy-scope@contoso.com
"""


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--latency-ms", type=int, default=30)
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    parser.add_argument(
        "--only", action="append", choices=PARTS, help="run only this part (repeatable; default: every part)"
    )
    args = parser.parse_args()
    parts: set[str] = set(args.only or PARTS)
    results: dict[str, Any] = {}
    if parts != set(PARTS) and args.out.exists():
        results = json.loads(args.out.read_text(encoding="utf-8"))  # keep the figures of the parts not run
    if "help" in parts:
        results["help_s"] = help_seconds()
        print(f"reconciler --help: {results['help_s']:.3f} s (median of 7)")
    if "state" in parts:
        results["state"] = state_seconds(STATE_RECORDS)
        state = results["state"]
        print(
            f"state put/get at {state['records']:,} records: {state['seconds']:.3f} s (median of 5: "
            f"build {state['build_s']:.3f} s, put+get {state['put_get_s']:.3f} s, render {state['render_s']:.3f} s)"
        )
    if "twin" in parts:  # issue 19: bench/twin.py
        results["twin"] = twin = snapshot_row(latency_ms=args.latency_ms)
        print(f"snapshot, {twin['mailboxes']:,} mailboxes: {twin['snapshot_s']:.2f} s (plan {twin['plan_s']:.2f} s)")
    if "plan" in parts:
        results["runs"] = []
        header = (
            ("mailboxes", 9),
            ("plan_s", 7),
            ("requests", 8),
            ("peak_mb", 7),
            ("plan_cpu", 8),
            ("sim_cpu", 7),
            ("sequential_s", 12),
            ("seq_req", 7),
            ("seq_sim_cpu", 11),
            ("sim_total", 9),
        )
        print(" ".join(f"{name:>{width}}" for name, width in header), f"{'speedup':>7}")
        for size in (int(s) for s in args.sizes.split(",")):
            run = measure(size, args.latency_ms)
            results["runs"].append(run)
            print(
                f"{run['mailboxes']:>9} {run['plan_s']:>7.2f} {run['requests']:>8} {run['peak_mb']:>7.1f} "
                f"{run['plan_cpu_s']:>8.2f} {_seconds(run['sim_cpu_s']):>7} "
                f"{run['sequential_s']:>12.2f} {run['sequential_requests']:>7} "
                f"{_seconds(run['sequential_sim_cpu_s']):>11} {_seconds(run['sim_total_cpu_s']):>9} "
                f"{run['speedup']:>7.1f}"
            )
            args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    verdict(results, parts)


def help_seconds() -> float:
    times = []
    for _ in range(7):
        start = time.perf_counter()
        subprocess.run([*RECONCILER, "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def state_seconds(records: int) -> dict[str, Any]:
    """What one large apply asks of State: `records` records built, put (in no particular order), each got
    back, and the state rendered once as a write renders it. Medians of 5 rounds, in seconds."""
    rounds = sorted((_state_round(records) for _ in range(5)), key=lambda r: r["seconds"])
    middle = rounds[len(rounds) // 2]
    return {"records": records, **{name: round(value, 4) for name, value in middle.items()}}


def _state_round(records: int) -> dict[str, float]:
    order = list(range(records))
    random.Random(records).shuffle(order)
    start = time.perf_counter()
    built = [
        ResourceRecord(
            address=f"calendar_permission.room{i:05}@contoso.com/cronofy-svc@contoso.onmicrosoft.com",
            kind="calendar_permission",
            id=f"permission-{i}",
            created_by_reconciler=True,
            depends_on=["user.service_account"],
            attributes={"role": "freeBusyRead", "mailbox": f"room{i:05}@contoso.com"},
        )
        for i in order
    ]
    built_at = time.perf_counter()
    state = State(tenant="contoso.onmicrosoft.com")
    for record in built:
        state.put(record)
    if any(state.get(record.address) is not record for record in built):
        raise SystemExit("state lost a record")
    got_at = time.perf_counter()
    text = render_state(state)
    end = time.perf_counter()
    if text.count('"address"') != records:
        raise SystemExit("the rendered state does not hold every record")
    return {
        "seconds": end - start,
        "build_s": built_at - start,
        "put_get_s": got_at - built_at,
        "render_s": end - got_at,
    }


def measure(size: int, latency_ms: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-") as folder:
        root = Path(folder)
        tenant = init_tenant(root / "tenant.json", rooms=size)
        server, url = serve(root / "tenant.json", latency_ms)
        try:
            spec = root / "bench.yaml"
            spec.write_text(SPEC.format(tenant_id=tenant["tenant"]["id"], url=url), encoding="utf-8")
            bulk = plan(spec, root, url, [], server.pid)
            sequential = plan(spec, root, url, ["--no-batch", "--parallelism", "1"], server.pid)
        finally:
            sim_total = stop(server)
    check_same_plan(bulk, sequential)
    return {
        "mailboxes": size,
        "latency_ms": latency_ms,
        "plan_s": round(bulk["seconds"], 3),
        "requests": bulk["requests"],
        "peak_mb": round(bulk["peak_mb"], 1),
        "plan_cpu_s": round(bulk["cpu_s"], 3),  # the product (reconciler plan) process
        "sim_cpu_s": _round(bulk["sim_cpu_s"]),  # the simulator process, while that plan ran
        "sequential_s": round(sequential["seconds"], 3),
        "sequential_requests": sequential["requests"],
        "sequential_cpu_s": round(sequential["cpu_s"], 3),
        "sequential_sim_cpu_s": _round(sequential["sim_cpu_s"]),
        "sim_total_cpu_s": _round(sim_total),  # the simulator's whole life: load, both plans, shutdown
        "speedup": round(sequential["seconds"] / bulk["seconds"], 1),
        "changes": bulk["changes"],
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a running process so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14, 15)


def stop(server: subprocess.Popen[str]) -> float | None:
    """Stop `sim serve` (SIGTERM: it folds its journal in and exits) and return its CPU seconds."""
    server.terminate()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pid, status, usage = os.wait4(server.pid, os.WNOHANG)
        if pid:
            server.returncode = os.waitstatus_to_exitcode(status)
            return usage.ru_utime + usage.ru_stime
        time.sleep(0.05)
    server.send_signal(signal.SIGKILL)
    server.wait(10)
    return None


def serve(tenant: Path, latency_ms: int) -> tuple[subprocess.Popen[str], str]:
    command = [*RECONCILER, "sim", "serve", str(tenant), "--port", "0", "--latency-ms", str(latency_ms)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    line = server.stdout.readline()
    url = next(word for word in line.split() if word.startswith("http://"))
    return server, url


def served(url: str) -> int:
    with urllib.request.urlopen(f"{url}/_simulator/stats", timeout=30) as answer:  # loopback only
        return int(json.loads(answer.read())["requests_served"])


def plan(spec: Path, root: Path, url: str, extra: list[str], server_pid: int) -> dict[str, Any]:
    """Run one `reconciler plan` process; its wall time, peak RSS and CPU, and the simulator's CPU meanwhile."""
    before = served(url)
    sim_before = process_cpu_seconds(server_pid)
    env = {**os.environ, "BENCH_SVC_PASSWORD": PASSWORD}
    command = [*RECONCILER, "plan", str(spec), "--json", "--state", str(root / "state.json"), *extra]
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, env=env)
        assert process.stdout is not None
        stdout = process.stdout.read()
        process.stdout.close()
        _, status, usage = os.wait4(process.pid, 0)  # this process's own rusage (peak RSS, CPU)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"plan failed: {errors.read().decode()}")
    sim_after = process_cpu_seconds(server_pid)
    result = json.loads(stdout)
    return {
        "seconds": seconds,
        "requests": served(url) - before,
        "peak_mb": usage.ru_maxrss / 1024,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "sim_cpu_s": None if sim_before is None or sim_after is None else sim_after - sim_before,
        "changes": result["summary"],
        "plan": result,
    }


def check_same_plan(bulk: dict[str, Any], sequential: dict[str, Any]) -> None:
    if bulk["changes"] != sequential["changes"]:
        raise SystemExit(f"bulk and sequential plans differ: {bulk['changes']} vs {sequential['changes']}")


def verdict(results: dict[str, Any], parts: set[str]) -> None:
    """Print PASS/FAIL for each target of the parts run."""
    checks: list[tuple[str, bool]] = []
    if "help" in parts:
        checks.append(("--help < 0.5 s", results["help_s"] < 0.5))
    if "state" in parts:
        checks.append(
            (f"state put/get at {results['state']['records']:,} records < 0.5 s", results["state"]["seconds"] < 0.5)
        )
    runs = {r["mailboxes"]: r for r in results["runs"]} if "plan" in parts else {}
    if 10000 in runs:
        big = runs[10000]
        checks += [
            ("10,000: plan < 10 s", big["plan_s"] < 10),
            ("10,000: requests <= 550", big["requests"] <= 10000 / 20 + 50),
            ("10,000: peak < 400 MB", big["peak_mb"] < 400),
            ("10,000: >= 20x sequential", big["speedup"] >= 20),
        ]
    if 1000 in runs:
        checks.append(("1,000: plan < 2 s", runs[1000]["plan_s"] < 2))
    if 1000 in runs and 10000 in runs:
        checks.append(("10,000 within 12x of 1,000", runs[10000]["plan_s"] <= 12 * runs[1000]["plan_s"]))
    for name, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'} {name}")


if __name__ == "__main__":
    main()
