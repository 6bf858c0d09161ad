"""``ibkr-broker sim --max-server-version N`` chooses the newest version the simulator answers."""

from __future__ import annotations

import re
import signal
import socket
import struct
import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(60)


def negotiate(port: int, offer: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"API\0" + struct.pack(">I", len(offer)) + offer)
        f = sock.makefile("rb")
        (size,) = struct.unpack(">I", f.read(4))
        return int(f.read(size).split(b"\0")[0])


def test_command_line_ceiling_picks_the_era() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ibkr_broker.simulator.cli", "--port", "0", "--seed", "4",
         "--max-server-version", "222", "--log-level", "WARNING"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+) .* max server version 222", line)
        assert m, line
        port = int(m.group(1))
        assert negotiate(port, b"v100..226") == 222  # ibapi 10.50's default range
        assert negotiate(port, b"v157..178") == 178  # ib_async 2.1 keeps the text era
        assert negotiate(port, b"v100..200") == 178  # 179..212 is never answered
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_command_line_refuses_a_ceiling_it_does_not_speak() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ibkr_broker.simulator.cli", "--max-server-version", "200"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2
    assert "max server version 200 is not spoken" in done.stderr
    assert "213..226" in done.stderr
