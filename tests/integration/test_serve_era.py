"""`ibkr-broker serve --sim` negotiates the protobuf era with the simulator at its default,
says which version in GetStatus (and the ceiling it offered), and logs it at connect;
`[tws] max_server_version = 178` keeps the text era."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from ibkr_broker.server.ib.versions import PROVEN_MAX_SERVER_VERSION
from ibkr_broker.simulator.server import DEFAULT_MAX_SERVER_VERSION
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import broker_service_pb2_grpc, common_pb2

from tests.waiting import wait_until_sync

pytestmark = pytest.mark.timeout(90)


def serve_status(tmp_path: Path, env: dict[str, str]) -> tuple[pb.GetStatusResponse, str]:
    """GetStatus of a `serve --sim` once ready, and its log."""
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ibkr_broker", "serve", "--sim", "--listen", "127.0.0.1:0",
             "--data-dir", str(tmp_path / "data")],
            stdout=subprocess.PIPE, stderr=log, text=True, env={**os.environ, **env},
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            found = re.search(r"on (127\.0\.0\.1:\d+) \(TWS simulator", line)
            assert found, line
            with grpc.insecure_channel(found.group(1)) as channel:
                stub = broker_service_pb2_grpc.BrokerServiceStub(channel)
                statuses: list[pb.GetStatusResponse] = []

                def ready() -> bool:
                    statuses[:] = [stub.GetStatus(pb.GetStatusRequest(), wait_for_ready=True,
                                                  timeout=10)]  # fmt: skip
                    return statuses[0].connection_state == common_pb2.CONNECTION_STATE_READY

                wait_until_sync(ready, 30, "the server ready")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return statuses[0], log_path.read_text()


def test_serve_sim_negotiates_the_protobuf_era_and_says_so(tmp_path: Path) -> None:
    status, log = serve_status(tmp_path, {})
    assert status.server_version == DEFAULT_MAX_SERVER_VERSION >= 213
    assert status.max_server_version == PROVEN_MAX_SERVER_VERSION
    assert (f"server version {DEFAULT_MAX_SERVER_VERSION}, protobuf era, offered "
            f"100..{PROVEN_MAX_SERVER_VERSION}") in log  # fmt: skip


def test_a_ceiling_of_178_keeps_the_text_era(tmp_path: Path) -> None:
    status, log = serve_status(tmp_path, {"IBKR_BROKER_TWS_MAX_SERVER_VERSION": "178"})
    assert (status.server_version, status.max_server_version) == (178, 178)
    assert "server version 178, text era, offered 100..178" in log
