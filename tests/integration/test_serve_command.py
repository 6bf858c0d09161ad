"""`ibkr-broker serve --sim` as a user runs it: prints where it listens, serves, and drains on
SIGTERM (open streams end cleanly, the process exits 0)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import broker_service_pb2_grpc, common_pb2, contract_pb2

pytestmark = pytest.mark.timeout(60)


def test_serve_sim_prints_address_serves_and_drains_on_sigterm(tmp_path: Path) -> None:
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ibkr_broker",
            "serve",
            "--sim",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            str(tmp_path / "data"),
        ],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={**os.environ},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"on (127\.0\.0\.1:\d+) \(TWS simulator", line)
        assert match, line
        with grpc.insecure_channel(match.group(1)) as channel:
            grpc.channel_ready_future(channel).result(timeout=10)
            stub = broker_service_pb2_grpc.BrokerServiceStub(channel)
            status = stub.GetStatus(pb.GetStatusRequest(), timeout=5)
            for _ in range(100):
                if status.connection_state == common_pb2.CONNECTION_STATE_READY:
                    break
                status = stub.GetStatus(pb.GetStatusRequest(), wait_for_ready=True, timeout=5)
            assert status.connection_state == common_pb2.CONNECTION_STATE_READY
            stream = stub.StreamQuotes(
                pb.StreamQuotesRequest(
                    contracts=[contract_pb2.Contract(security_type=1, symbol="AAPL")]
                ),
                timeout=30,
            )
            first = next(stream)
            assert first.sequence == 1
            proc.send_signal(signal.SIGTERM)
            rest = list(stream)  # ends without an error: the server drained it
            assert all(m.sequence > 1 for m in rest)
        assert proc.wait(timeout=20) == 0
        assert "draining" in proc.stdout.read()
        assert "Traceback" not in (tmp_path / "serve.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_on_a_taken_port_fails_with_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "ibkr_broker",
                "serve",
                "--sim",
                "--listen",
                f"127.0.0.1:{port}",
                "--data-dir",
                str(tmp_path / "data"),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
