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


def test_judge_prints_fail_and_exits_1_when_a_row_misses_its_target(tmp_path: Path) -> None:
    """`--judge` over a results file whose 10,000-mailbox no-op plan is 2.5x its bound: FAIL, exit 1, verdict kept."""
    names = ["plan --json", "plan (human)", "plan (terminal)", "apply", "no-op plan", "drift"]
    rows = [
        {
            "part": "plan",
            "row": name,
            "mailboxes": 10_000,
            "ok": True,
            "ratio": 2.5 if name == "no-op plan" else 1.5,
            "peak_mb": 150.0,
            "requests": 521,
            "wall_s": 4.0,
            "run": "R",
            **({"no_changes": True} if name == "no-op plan" else {}),
        }
        for name in names
    ]
    out = tmp_path / "results.json"
    out.write_text(json.dumps({"help_s": 0.1, "rows": rows}), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--judge", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL 10,000: no-op plan <= 2x its bound" in done.stdout
    assert "PASS 10,000: drift <= 2x its bound" in done.stdout and "PASS --help median < 0.3 s" in done.stdout
    assert json.loads(out.read_text(encoding="utf-8"))["verdict"] == "FAIL"
