"""A real Azurite (the Azure Storage emulator) for the azure_blob state backend's tests.

`make azurite` (scripts/azurite.sh install) puts the pinned Azurite into .azurite/. The session fixture
starts its blob service on a port the OS picks, in a fresh directory, and stops it at the end; each
xdist worker starts its own. A missing Azurite fails the tests that need it (it never skips them).
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
AZURITE_BLOB = REPO / ".azurite" / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT = "devstoreaccount1"
# Azurite's well-known development account key (public, the same for every Azurite)
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
START_TIMEOUT_S = 60.0
_LISTENING = re.compile(r"Blob service successfully listens on (http://\S+?):(\d+)")


def connection_string(port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
    )


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running Azurite blob service; yields its connection string."""
    if not os.access(AZURITE_BLOB, os.X_OK):
        pytest.fail(
            f"Azurite is not installed ({AZURITE_BLOB} is missing): run `make azurite` "
            "(scripts/azurite.sh install, needs npm) and run the tests again",
            pytrace=False,
        )
    workdir = tmp_path_factory.mktemp("azurite")
    command = [
        str(AZURITE_BLOB),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        "0",  # the OS picks a free port; Azurite prints it (no race between workers)
        "--location",
        str(workdir),
        "--silent",
        "--skipApiVersionCheck",
        "--loose",
        "--disableTelemetry",
    ]
    process = subprocess.Popen(
        command,
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def pump() -> None:  # keep reading, so Azurite never blocks on a full pipe
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, name="azurite-output", daemon=True).start()
    try:
        port = _wait_listening(process, lines, output)
        _wait_answering(port, process, output)
        yield connection_string(port)
    finally:
        _stop(process)


def _wait_listening(process: subprocess.Popen[str], lines: queue.Queue[str | None], output: list[str]) -> int:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            break
        match = _LISTENING.search(line)
        if match:
            return int(match.group(2))
    _stop(process)
    pytest.fail(
        f"Azurite did not start within {START_TIMEOUT_S:.0f} s (exit code {process.returncode}); it said:\n"
        + "".join(output[-30:])
        + "\nreinstall it with `rm -rf .azurite && make azurite`",
        pytrace=False,
    )


def _wait_answering(port: int, process: subprocess.Popen[str], output: list[str]) -> None:
    from azure.core.exceptions import AzureError
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(connection_string(port), retry_total=0)
    deadline = time.monotonic() + START_TIMEOUT_S
    last: Exception | None = None
    try:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                service.get_service_properties()
                return
            except AzureError as exc:
                last = exc
                time.sleep(0.2)
    finally:
        service.close()
    _stop(process)
    pytest.fail(f"Azurite listens on port {port} but does not answer: {last}\n" + "".join(output[-30:]), pytrace=False)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture
def azure_container(azurite: str) -> Iterator[str]:
    """A new, empty container of its own for one test; yields its name."""
    from azure.storage.blob import BlobServiceClient

    name = f"t{uuid.uuid4().hex[:20]}"
    with BlobServiceClient.from_connection_string(azurite) as service:
        service.create_container(name)
    yield name
