"""A real stack for integration tests: the simulator and the gRPC server, both on port 0.

async with ServerEnv(tmp_path) as env:
    env.stub.GetStatus(...)         # grpc.aio stub on 127.0.0.1:<port>
    env.sim                         # the SimulatorServer (assert on its order book)
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import grpc
from ibkr_broker.server.app import BrokerApp
from ibkr_broker.server.config import Config, build
from ibkr_broker.simulator.server import SimulatorServer
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import broker_service_pb2_grpc, common_pb2, contract_pb2, order_pb2

from tests.waiting import wait_until

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


def test_config(data_dir: Path, tws_port: int, **tws: Any) -> Config:
    return build(
        {
            "server": {
                "listen": "127.0.0.1:0",
                "data_dir": str(data_dir),
                "heartbeat_interval": 0.5,
                "drain_timeout": 1.0,
            },
            "tws": {
                "host": "127.0.0.1",
                "port": tws_port,
                "connect_timeout": 3.0,
                "request_timeout": 5.0,
                "order_timeout": 5.0,
                "reconnect_initial_delay": 0.2,
                "reconnect_max_delay": 1.0,
                **tws,
            },
        },
        env={},
    )


class ServerEnv:
    def __init__(self, tmp_path: Path, sim: SimulatorServer | None = None, **tws: Any) -> None:
        self.tmp_path = tmp_path
        self.sim = sim or SimulatorServer("127.0.0.1", 0, seed=7, tick_interval=0.05)
        self._own_sim = sim is None
        self.tws = tws
        self.app: BrokerApp | None = None
        self.channel: grpc.aio.Channel | None = None

    async def start_server(self) -> None:
        self.app = BrokerApp(test_config(self.tmp_path / "data", self.sim.port, **self.tws))
        await self.app.start()
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.app.port}")
        self.stub = broker_service_pb2_grpc.BrokerServiceStub(self.channel)
        await self.wait_ready()

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
