"""The rooms bench row (issue 18): `reconciler plan` of a free_busy spec whose `room_booking` covers every room of a
tenant with N room mailboxes (default 10,000), against `reconciler sim serve --latency-ms 30` in its own process.

Self-contained (it shares only `bench.serve` with bench/__main__.py):
`python -m bench.rooms [--size N] [--latency-ms MS]` prints one JSON row; `rooms_row(size, latency_ms)` returns it
for a bench runner to add to its table and results.

What it shows: room lookups come from listings (the scope group's members, paged), and each room's booking policy is
one Get-CalendarProcessing request (the cmdlet takes one mailbox per call and the admin API has no pipeline), sent
`--parallelism` at a time, so the plan's wall time is about rooms x latency / parallelism. The row's `requests` is
checked against rooms + a fixed number of listings, and `no_change_s` is the second plan, after apply.

`--flavor exchange_server` (`server_row`): the same rooms on an on-premises server, where each room's AutomateProcessing
is one EWS GetUserConfiguration (its calendar options) and apply only prints the Set-CalendarProcessing commands and
records them; the plan after apply waits on exactly AutomateProcessing of each room (the commands were not run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.serve import RECONCILER, Served, serve
from reconciler.simulator import init_tenant

PASSWORD = "Bench-only-Pa55word!"
FIXED_REQUESTS = 60  # listings and the preset's own reads, whatever the number of rooms
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
  folder_permissions: false
room_booking:
  - access_rooms: true
"""


def rooms_row(size: int = 10_000, latency_ms: int = 30) -> dict[str, Any]:
    """Plan, apply and plan again for `size` rooms; wall times and requests served."""
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-rooms-") as folder:
        root = Path(folder)
        tenant = init_tenant(root / "tenant.json", rooms=size)
        with serve([root / "tenant.json"], latency_ms) as server:
            spec = root / "rooms.yaml"
            spec.write_text(SPEC.format(tenant_id=tenant["tenant"]["id"], url=server.url), encoding="utf-8")
            state = ("--state", str(root / "state.json"))  # its own state, never one found from the cwd
            first = _run(server, "plan", str(spec), "--json", *state)
            applied = _run(server, "apply", str(spec), "--auto-approve", *state)
            again = _run(server, "plan", str(spec), "--json", *state)
    rooms = len(tenant["rooms"]) + 3  # the seeded tenant's three named rooms too
    summary = json.loads(first["stdout"])["summary"]
    row = {
        "rooms": rooms,
        "latency_ms": latency_ms,
        "plan_s": round(first["seconds"], 3),
        "requests": first["requests"],
        "changes": summary["change"],
        "apply_s": round(applied["seconds"], 3),
        "apply_requests": applied["requests"],
        "no_change_s": round(again["seconds"], 3),
        "no_change": json.loads(again["stdout"])["summary"]["change"] == 0,
    }
    row["ok"] = row["requests"] <= rooms + FIXED_REQUESTS and row["changes"] == rooms and row["no_change"]
    return row


SERVER_SPEC = """\
version: 1
tenant:
  domain: contoso.com
  simulator: {url}
target: exchange_server
exchange_server:
  ews_url: https://mail.contoso.com/EWS/Exchange.asmx
  username: reconciler-admin@contoso.com
  password: ${{env:BENCH_SVC_PASSWORD}}
  auth: basic
room_booking:
  - rooms: [{rooms}]
    automate_processing: AutoAccept
    process_external_meeting_messages: true
    all_book_in_policy: true
"""


def server_row(size: int = 10_000, latency_ms: int = 30) -> dict[str, Any]:
    """Exchange Server: plan, apply (prints and records the commands) and plan again for `size` rooms."""
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-rooms-") as folder:
        root = Path(folder)
        tenant = init_tenant(root / "tenant.json", rooms=size, flavor="exchange_server", ad_password=PASSWORD)
        rooms = sorted(r["emailAddress"] for r in tenant["rooms"])
        with serve([root / "tenant.json"], latency_ms) as server:
            spec = root / "rooms.yaml"
            spec.write_text(SERVER_SPEC.format(url=server.url, rooms=", ".join(rooms)), encoding="utf-8")
            state = ("--state", str(root / "state.json"))
            before = server.operations()
            first = _run(server, "plan", str(spec), "--json", *state)
            read = server.operations()
            reads = read.get("ews GetUserConfiguration", 0) - before.get("ews GetUserConfiguration", 0)
            applied = _run(server, "apply", str(spec), "--auto-approve", *state)
            again = _run(server, "plan", str(spec), "--json", *state)
    waiting = [c for c in json.loads(again["stdout"])["changes"] if c["kind"] == "room_booking"]
    row = {
        "flavor": "exchange_server",
        "rooms": len(rooms),
        "latency_ms": latency_ms,
        "plan_s": round(first["seconds"], 3),
        "requests": first["requests"],
        "get_user_configuration": reads,
        "manual": json.loads(first["stdout"])["summary"]["manual"],
        "apply_s": round(applied["seconds"], 3),
        "apply_requests": applied["requests"],
        "after_apply_s": round(again["seconds"], 3),
        "waiting_on_automate_processing": sum(1 for c in waiting if c["changed"] == ["automate_processing"]),
    }
    row["ok"] = row["requests"] == row["get_user_configuration"] == row["manual"] == len(rooms) and row[
        "waiting_on_automate_processing"
    ] == len(rooms)
    return row


def _run(server: Served, *args: str) -> dict[str, Any]:
    before = server.requests()
    env = {**os.environ, "BENCH_SVC_PASSWORD": PASSWORD}
    start = time.perf_counter()
    done = subprocess.run([*RECONCILER, *args], capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"reconciler {args[0]} failed: {done.stderr or done.stdout}")
    return {"seconds": seconds, "requests": server.requests() - before, "stdout": done.stdout}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.rooms")
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=30)
    parser.add_argument("--flavor", choices=("exchange_online", "exchange_server"), default="exchange_online")
    options = parser.parse_args()
    make = server_row if options.flavor == "exchange_server" else rooms_row
    row = make(options.size, options.latency_ms)
    print(json.dumps(row))
    raise SystemExit(0 if row["ok"] else 1)


if __name__ == "__main__":
    main()
