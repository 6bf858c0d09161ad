"""Fail-over: the leader gateway killed (SIGKILL) during order flow, the standby serving.

Gateways run as `ibkr-broker serve --bus` processes (a kill must be a real one); the edge, the
simulator and NATS are this test's. Retried request ids must give the first order, whichever
gateway took it: no order lost, none placed twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import order_pb2

from tests.waiting import wait_until

from .bus_env import Client, NatsServer, start_edge
from .server_env import AAPL, BUY, limit, new_simulator, place

pytestmark = pytest.mark.timeout(120)

RETRYABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
ORDERS = 10
KILL_AFTER = 4


def gateway(tmp_path: Path, name: str, url: str, tws_port: int, *flags: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "IBKR_BROKER_BUS_LEASE_TTL": "2",
        "IBKR_BROKER_TWS_RECONNECT_INITIAL_DELAY": "0.2",
        "IBKR_BROKER_TWS_RECONNECT_MAX_DELAY": "1",
    }
    log = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "ibkr_broker", "serve", "--bus", url,
         "--tws", f"127.0.0.1:{tws_port}", "--listen", "127.0.0.1:0",
         "--data-dir", str(tmp_path / name), *flags],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


async def place_retrying(client: Client, request_id: str, deadline: float) -> pb.PlaceOrderResponse:
    """PlaceOrder with the same request_id until a gateway answers (as a careful client does)."""
    while True:
        try:
            return await client.stub.PlaceOrder(
                place(AAPL, limit(BUY, "1", "1.00"), request_id=request_id), timeout=2
            )
        except grpc.aio.AioRpcError as err:
            if err.code() not in RETRYABLE or time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.05)  # the client's retry back-off, bounded by the deadline


async def test_standby_takes_over_with_no_lost_and_no_duplicate_order(tmp_path: Path) -> None:
    sim = new_simulator(seed=5, tick_interval=0.05)
    await sim.start()
    processes: list[subprocess.Popen] = []
    async with NatsServer(tmp_path) as nats_server:
        edge = await start_edge(tmp_path / "edge", nats_server.url)
        client = Client(edge.port)
        try:
            leader = gateway(tmp_path, "leader", nats_server.url, sim.port)
            processes.append(leader)
            await wait_until(
                lambda: any(g.get("ready") for g in edge.backend.live().values()),
                30,
                "the leader serving on the bus",
            )
            processes.append(gateway(tmp_path, "standby", nats_server.url, sim.port, "--standby"))
            quotes = client.stub.StreamQuotes(pb.StreamQuotesRequest(contracts=[AAPL]))
            first: dict[str, str] = {}
            for i in range(KILL_AFTER):
                reply = await place_retrying(client, f"fo-{i}", time.monotonic() + 30)
                first[f"fo-{i}"] = reply.order.order_id
            in_flight = asyncio.ensure_future(
                place_retrying(client, f"fo-{KILL_AFTER}", time.monotonic() + 60)
            )
            killed_at = time.monotonic()
            leader.send_signal(signal.SIGKILL)
            reply = await in_flight
            takeover = time.monotonic() - killed_at
            first[f"fo-{KILL_AFTER}"] = reply.order.order_id
            for i in range(KILL_AFTER + 1, ORDERS):
                reply = await place_retrying(client, f"fo-{i}", time.monotonic() + 30)
                first[f"fo-{i}"] = reply.order.order_id
            print(f"standby served an order {takeover:.2f}s after the leader was killed")
            # The quote stream goes on: the edge asks the new leader for its lines at once.
            since = time.time()
            while True:
                message = await asyncio.wait_for(quotes.read(), 20)
                stamps = [q.update_time.seconds + q.update_time.nanos / 1e9
                          for q in message.quotes.quotes]  # fmt: skip
                if any(stamp > since for stamp in stamps):
                    break
            quotes.cancel()
            # Every request id retried on the new leader: the first order, not a new one.
            for request_id, order_id in first.items():
                again = await place_retrying(client, request_id, time.monotonic() + 30)
                assert again.order.order_id == order_id, request_id
            refs = [o.request.order_ref for o in sim.exchange.orders()]
            for request_id in first:
                assert refs.count(f"ikb:{request_id}") <= 1, f"{request_id} placed twice"
            at_tws = {r.removeprefix("ikb:") for r in refs}
            for request_id, order_id in first.items():
                got = await client.stub.GetOrder(pb.GetOrderRequest(order_id=order_id), timeout=10)
                if request_id not in at_tws:  # never reached TWS: said so, not silently lost
                    assert got.order.status in (
                        order_pb2.ORDER_STATUS_REJECTED,
                        order_pb2.ORDER_STATUS_CANCELLED,
                    ), request_id
            assert len(at_tws & set(first)) >= ORDERS - 1
        finally:
            await client.close()
            await edge.stop()
            for process in processes:
                if process.poll() is None:
                    process.terminate()
                    await asyncio.to_thread(process.wait, 15)
    await sim.stop()
