"""`python -m bench` itself: a small plan part runs, writes its rows and judges them (the whole is `make bench`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_bench_plan_rows_at_100_mailboxes(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    out.write_text(
        json.dumps({"twin": {"kept": True}, "rows": [{"part": "fleet", "row": "kept", "mailboxes": 100}]}),
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--sizes", "100", "--only", "plan", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["twin"] == {"kept": True}  # the parts not run keep their figures
    assert {"part": "fleet", "row": "kept", "mailboxes": 100} in results["rows"]
    rows = {row["row"]: row for row in results["rows"] if row["part"] == "plan"}
    assert list(rows) == ["plan --json", "plan (human)", "plan (terminal)", "apply", "no-op plan", "drift"]
    for row in rows.values():
        assert row["ok"] and row["exit"] == 0 and row["mailboxes"] == 100
        assert row["requests"] > 0 and row["rounds"] == row["requests"]  # no --outlook-batch-concurrency
        assert row["peak_mb"] > 0 and row["cpu_s"] > 0 and row["sim_cpu_s"] is not None
        assert row["bound_s"] > row["startup_s"] > 0 and row["ratio"] > 0
    assert rows["plan --json"]["changes"] > 100  # a permission for each of the group's 100+ mailboxes, and the preset's
    assert rows["no-op plan"]["no_changes"] is True
    assert rows["apply"]["requests"] > rows["plan --json"]["requests"]  # its own refresh, then the writes
    assert all(check["ok"] for check in results["targets"]), results["targets"]
    assert "PASS 100: the plan after apply has no changes" in done.stdout
