"""Output options: --quiet (results and errors only), --no-color, and no progress bars when not on a terminal."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys

from tests.conftest import PASSWORD, Tenant


def test_quiet_apply_prints_only_the_result(tenant: Tenant) -> None:
    spec = tenant.spec_file("example")
    loud = tenant.cli("apply", spec, "--auto-approve")
    assert "user.service_account: created" in loud.stdout
    tenant.cli("state", "rm", "user.service_account", "--spec", spec)
    quiet = tenant.cli("--quiet", "apply", spec, "--auto-approve")
    assert quiet.exit_code == 0, quiet.output
    assert ": created" not in quiet.stdout and "Apply complete!" in quiet.stdout


def test_piped_output_has_no_bars_and_no_colour_codes(tenant: Tenant) -> None:
    result = tenant.process("--no-color", "plan", tenant.spec_file("example"))
    stdout, _ = result.communicate(timeout=120)
    assert result.returncode == 0
    assert "Refreshing" not in stdout and "\x1b[" not in stdout and "Plan: 9 to add" in stdout


def test_a_terminal_gets_progress_bars_and_no_color_still_holds(tenant: Tenant) -> None:
    """Run the CLI on a pseudo-terminal: the refresh shows a bar; --no-color leaves out colour codes."""
    main, child = pty.openpty()
    env = {**os.environ, "CRONOFY_SVC_PASSWORD": PASSWORD, "COLUMNS": "120", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "--no-color", "plan", tenant.spec_file("example")],
        cwd=tenant.root,
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
    )
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    process.wait(timeout=120)
    os.close(main)
    text = b"".join(chunks).decode("utf-8", "replace")
    assert process.returncode == 0, text
    assert "Refreshing" in text and "9 to add, 0 to change" in text
    assert not re.search(r"\x1b\[(?:\d+;)*(?:3[0-7]|9[0-7]|38;)", text)  # no colour (bold stays, as NO_COLOR allows)
