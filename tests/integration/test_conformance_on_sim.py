"""The opt-in conformance suite (tests/conformance), run against `ibkr-broker sim` as a
stand-in for a paper TWS in both eras, so it keeps working for the users who run it for real."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("version", [178, 226], ids=["text-178", "protobuf-226"])
def test_conformance_suite_passes_against_the_simulator(version: int) -> None:
    sim = subprocess.Popen(
        [sys.executable, "-m", "ibkr_broker.simulator.cli", "--port", "0", "--seed", "5",
         "--max-server-version", str(version), "--log-level", "WARNING"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert sim.stdout is not None
        line = sim.stdout.readline()
        found = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        assert found, line
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/conformance", "-q", "-rA",
             "-p", "no:cacheprovider", "--tws", f"127.0.0.1:{found.group(1)}",
             "--tws-max-server-version", str(version), "--tws-expect-version", str(version)],
            cwd=ROOT, capture_output=True, text=True, timeout=150,
        )  # fmt: skip
    finally:
        sim.send_signal(signal.SIGINT)
        sim.wait(timeout=10)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.search(r"\b4 passed\b", done.stdout), done.stdout[-2000:]
    assert f"TWS negotiated server version {version}" in done.stdout
