"""A real stack for integration tests: the simulator and the gRPC server, both on port 0.

async with ServerEnv(tmp_path) as env:
    env.stub.GetStatus(...)         # grpc.aio stub on 127.0.0.1:<port>
    env.sim                         # the SimulatorServer (assert on its order book)

The simulator answers the server's ibapi in the era the `tws_era` fixture (tests/conftest.py)
chose for the running test: `new_simulator` reads `SIM_MAX_SERVER_VERSION`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import grpc
from ibkr_broker.server.app import BrokerApp
from ibkr_broker.server.config import Config, build
from ibkr_broker.server.ib.versions import PROVEN_MAX_SERVER_VERSION
from ibkr_broker.simulator.codec.connection import TEXT_ERA_MAX
from ibkr_broker.simulator.server import SimulatorServer
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import broker_service_pb2_grpc, common_pb2, contract_pb2, order_pb2

from tests.waiting import wait_until

# The eras the server's integration suite runs in: the text era ib_async users see, and the
# newest protobuf-era version, which is also the server's default ceiling
# ([tws] max_server_version; server/ib/versions.py): what the suite proves is what it offers.
TWS_ERAS = {"text": TEXT_ERA_MAX, "protobuf": PROVEN_MAX_SERVER_VERSION}
# What a test that does not use the tws_era fixture gets: the text era, as before the eras.
SIM_MAX_SERVER_VERSION = TEXT_ERA_MAX


def new_simulator(**kw: Any) -> SimulatorServer:
    """A simulator on 127.0.0.1:0 in the running test's era (keyword arguments as
    SimulatorServer's)."""
    kw.setdefault("max_server_version", SIM_MAX_SERVER_VERSION)
    return SimulatorServer("127.0.0.1", 0, **kw)


AAPL = contract_pb2.Contract(security_type=contract_pb2.SECURITY_TYPE_STOCK, symbol="AAPL")
MSFT = contract_pb2.Contract(security_type=contract_pb2.SECURITY_TYPE_STOCK, symbol="MSFT")
SPY = contract_pb2.Contract(security_type=contract_pb2.SECURITY_TYPE_STOCK, symbol="SPY")
BUY, SELL = common_pb2.ORDER_ACTION_BUY, common_pb2.ORDER_ACTION_SELL


def market(action: int, qty: str) -> order_pb2.OrderSpec:
    return order_pb2.OrderSpec(action=action, quantity=qty, order_type=order_pb2.ORDER_TYPE_MARKET)


def limit(action: int, qty: str, price: str, **kw: Any) -> order_pb2.OrderSpec:
    return order_pb2.OrderSpec(
        action=action, quantity=qty, order_type=order_pb2.ORDER_TYPE_LIMIT, limit_price=price, **kw
    )


def place(contract: contract_pb2.Contract, spec: order_pb2.OrderSpec, **kw: Any) -> Any:
    return pb.PlaceOrderRequest(
        request_id=kw.pop("request_id", uuid.uuid4().hex), contract=contract, order=spec, **kw
    )


def test_config(
    data_dir: Path,
    tws_port: int,
    sections: Mapping[str, Mapping[str, Any]] | None = None,
    **tws: Any,
) -> Config:
    """The test settings; `sections` adds or overrides settings of any section (e.g. security)."""
    extra = {name: dict(values) for name, values in (sections or {}).items()}
    return build(
        {
            **extra,
            "server": {
                "listen": "127.0.0.1:0",
                "data_dir": str(data_dir),
                "heartbeat_interval": 0.5,
                "drain_timeout": 1.0,
                **extra.get("server", {}),
            },
            "tws": {
                "host": "127.0.0.1",
                "port": tws_port,
                "connect_timeout": 3.0,
                "request_timeout": 5.0,
                "order_timeout": 5.0,
                "reconnect_initial_delay": 0.2,
                "reconnect_max_delay": 1.0,
                **extra.get("tws", {}),
                **tws,
            },
        },
        env={},
    )


class ServerEnv:
    """`sections`: extra settings by section, e.g. {"security": {"tokens": [...]}}.
    `credentials`: channel credentials of `channel` / `stub` (TLS); default plaintext."""

    def __init__(
        self,
        tmp_path: Path,
        sim: SimulatorServer | None = None,
        *,
        sections: Mapping[str, Mapping[str, Any]] | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        **tws: Any,
    ) -> None:
        self.tmp_path = tmp_path
        self.sim = sim or new_simulator(seed=7, tick_interval=0.05)
        self._own_sim = sim is None
        self.tws = tws
        self.sections = sections
        self.credentials = credentials
        self.app: BrokerApp | None = None
        self.channel: grpc.aio.Channel | None = None

    async def start_server(self) -> None:
        config = test_config(self.tmp_path / "data", self.sim.port, self.sections, **self.tws)
        self.app = BrokerApp(config)
        await self.app.start()
        self.channel = self.open_channel(self.credentials)
        self.stub = broker_service_pb2_grpc.BrokerServiceStub(self.channel)
        await self.wait_ready()

    @property
    def target(self) -> str:
        assert self.app is not None
        return f"127.0.0.1:{self.app.port}"

    def open_channel(self, credentials: grpc.ChannelCredentials | None = None) -> grpc.aio.Channel:
        """A new channel to the server (close it), plaintext unless `credentials` are given."""
        if credentials is None:
            return grpc.aio.insecure_channel(self.target)
        return grpc.aio.secure_channel(self.target, credentials)

    async def wait_ready(self, timeout: float = 10) -> None:
        assert self.app is not None
        await wait_until(lambda: self.app.session.ready, timeout, "TWS session ready")

    async def stop_server(self) -> None:
        if self.channel is not None:
            await self.channel.close()
        if self.app is not None:
            await self.app.stop()
        self.app = self.channel = None

    async def restart_server(self) -> None:
        await self.stop_server()
        await self.start_server()

    async def __aenter__(self) -> ServerEnv:
        if self._own_sim:
            await self.sim.start()
        await self.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop_server()
        if self._own_sim:
            await self.sim.stop()

    def sim_orders(self) -> list[Any]:
        return list(self.sim.exchange.orders())
