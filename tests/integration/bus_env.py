"""NATS JetStream for the bus tests: Debian's nats-server on a loopback ephemeral port with a
temporary store, started and stopped by the test; and gateways and edges on it.

async with NatsServer(tmp_path) as nats_server:
    nats_server.url                 # nats://127.0.0.1:PORT
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import grpc
from ibkr_broker.server.app import BrokerApp
from ibkr_broker.server.edge_app import EdgeApp
from ibkr_broker.v1 import broker_service_pb2_grpc

from tests.waiting import wait_until

from .server_env import test_config


class NatsServer:
    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path / "nats"
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    async def start(self) -> None:
        binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        self.dir.mkdir(parents=True, exist_ok=True)
        for old in self.dir.glob("*.ports"):
            old.unlink()
        self.process = subprocess.Popen(
            [binary, "-js", "-a", "127.0.0.1", "-p", "-1", "-sd", str(self.dir / "store"),
             "--ports_file_dir", str(self.dir), "-l", str(self.dir / "nats.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        ports = self.dir / f"nats-server_{self.process.pid}.ports"
        await wait_until(ports.exists, 10, "nats-server wrote its ports file")
        await wait_until(lambda: bool(ports.read_text().strip()), 5, "ports file complete")
        self.url = json.loads(ports.read_text())["nats"][0]

    async def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            await asyncio.to_thread(self.process.wait, 10)
        self.process = None

    async def __aenter__(self) -> NatsServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def bus_config(data_dir: Path, tws_port: int, url: str, **sections: Any) -> Any:
    return test_config(data_dir, tws_port, {"bus": {"url": url}, **sections})


async def start_gateway(data_dir: Path, tws_port: int, url: str, **sections: Any) -> BrokerApp:
    app = BrokerApp(bus_config(data_dir, tws_port, url, **sections))
    await app.start()
    await wait_until(lambda: app.bus is not None and app.bus.serving, 15, "gateway on the bus")
    return app


async def start_edge(data_dir: Path, url: str, **sections: Any) -> EdgeApp:
    edge = EdgeApp(bus_config(data_dir, 7497, url, **sections))
    await edge.start()
    return edge


class Client:
    """A channel and a stub to one gRPC server (a gateway or an edge)."""

    def __init__(self, port: int) -> None:
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        self.stub = broker_service_pb2_grpc.BrokerServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close()


async def edge_process(data_dir: Path, url: str) -> tuple[subprocess.Popen[bytes], int]:
    """`ibkr-broker edge` as a process of its own (one a test can kill), and its port."""
    import re
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "ibkr_broker", "edge", "--bus", url, "--listen", "127.0.0.1:0",
         "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 30)
    match = re.search(rb"on 127\.0\.0\.1:(\d+)", line)
    if match is None:
        process.kill()
        raise AssertionError(f"the edge did not start: {line!r}")
    return process, int(match.group(1))
