"""Prometheus metrics over HTTP: every series the operators' dashboard draws is there, and the
series move when orders, streams, refusals, reconnects, bad TWS bytes and the kill switch
happen. Waits read the server's registry; the assertions read /metrics over a real socket."""

from __future__ import annotations

import asyncio
import struct
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import order_pb2
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.server_env import AAPL, BUY, ServerEnv, market, place
from tests.waiting import wait_until

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("tws_era")]

SERIES = {
    "ibkr_broker_tws_connected": "gauge",
    "ibkr_broker_tws_reconnects": "counter",
    "ibkr_broker_orders": "counter",
    "ibkr_broker_order_ack_seconds": "histogram",
    "ibkr_broker_market_data_lines": "gauge",
    "ibkr_broker_quote_subscribers": "gauge",
    "ibkr_broker_quotes_conflated": "counter",
    "ibkr_broker_pacing_wait_seconds": "histogram",
    "ibkr_broker_tws_decode_errors": "counter",
    "ibkr_broker_risk_refusals": "counter",
    "ibkr_broker_trading_halted": "gauge",
    "grpc_server_handled": "counter",
    "grpc_server_handling_seconds": "histogram",
}
SERVICE = "ibkr_broker.v1.BrokerService"


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[ServerEnv]:
    sections = {"metrics": {"listen": "127.0.0.1:0"}, "risk": {"max_order_quantity": "100"}}
    async with ServerEnv(tmp_path, sections=sections) as env:
        yield env


class Scrape:
    """One GET /metrics: sample values by name and labels."""

    def __init__(self, text: str) -> None:
        self.families = {f.name: f for f in text_string_to_metric_families(text)}

    def value(self, name: str, **labels: str) -> float:
        total = 0.0
        for family in self.families.values():
            for sample in family.samples:
                if sample.name == name and labels.items() <= sample.labels.items():
                    total += sample.value
        return total


async def scrape(env: ServerEnv) -> Scrape:
    assert env.app is not None and env.app.metrics_endpoint is not None
    url = f"http://127.0.0.1:{env.app.metrics_endpoint.port}/metrics"

    def get() -> str:
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain; version=")
            return str(response.read().decode())

    return Scrape(await asyncio.to_thread(get))


def sample(env: ServerEnv, name: str, **labels: str) -> float:
    """The registry's current value (for waiting; the assertions scrape over HTTP)."""
    assert env.app is not None and env.app.metrics is not None
    return env.app.metrics.registry.get_sample_value(name, labels) or 0.0


async def test_every_series_is_served_with_its_type(env: ServerEnv) -> None:
    first = await scrape(env)
    for name, kind in SERIES.items():
        assert name in first.families, f"{name} missing from /metrics"
        assert first.families[name].type == kind, name
    assert first.value("ibkr_broker_tws_connected") == 1
    assert first.value("ibkr_broker_trading_halted") == 0
    assert first.value("ibkr_broker_tws_reconnects_total") == 0
    assert first.value("ibkr_broker_pacing_wait_seconds_count") > 0  # the start-up requests
    # Labelled series are there at 0 before anything happened.
    statuses = {s.labels["status"] for s in first.families["ibkr_broker_orders"].samples}
    assert {"pending_submit", "submitted", "filled", "cancelled", "rejected"} <= statuses
    limits = {s.labels["limit"] for s in first.families["ibkr_broker_risk_refusals"].samples}
    assert {"max_order_quantity", "max_order_notional", "max_orders_per_minute"} <= limits
    methods = {s.labels["grpc_method"] for s in first.families["grpc_server_handled"].samples}
    assert {"PlaceOrder", "CancelOrder", "StreamQuotes", "StreamOrderEvents"} <= methods


async def test_orders_and_risk_refusals_move_their_series(env: ServerEnv) -> None:
    placed = await env.stub.PlaceOrder(place(AAPL, market(BUY, "5")), timeout=10)
    filled = order_pb2.ORDER_STATUS_FILLED
    await wait_until(lambda: sample(env, "ibkr_broker_orders_total", status="filled") == 1,
                     10, "the fill counted")  # fmt: skip
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await env.stub.PlaceOrder(place(AAPL, market(BUY, "500")), timeout=10)
    assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    got = await scrape(env)
    order = await env.stub.GetOrder(pb.GetOrderRequest(order_id=placed.order.order_id), timeout=5)
    assert order.order.status == filled
    assert got.value("ibkr_broker_orders_total", status="pending_submit") == 1
    assert got.value("ibkr_broker_orders_total", status="filled") == 1
    assert got.value("ibkr_broker_order_ack_seconds_count") == 1
    assert got.value("ibkr_broker_risk_refusals_total", limit="max_order_quantity") == 1
    ok = {"grpc_service": SERVICE, "grpc_method": "PlaceOrder", "grpc_type": "unary"}
    assert got.value("grpc_server_handled_total", **ok, grpc_code="OK") == 1
    assert got.value("grpc_server_handled_total", **ok, grpc_code="FAILED_PRECONDITION") == 1
    assert got.value("grpc_server_handling_seconds_count", **ok) == 2


async def test_quote_streams_move_lines_subscribers_and_conflation(env: ServerEnv) -> None:
    stream = env.stub.StreamQuotes(pb.StreamQuotesRequest(contracts=[AAPL]), timeout=30)
    await stream.read()
    during = await scrape(env)
    assert during.value("ibkr_broker_market_data_lines") == 1
    assert during.value("ibkr_broker_quote_subscribers") == 1
    # Not reading: the simulator's ticks replace each other in the stream's mailbox.
    await wait_until(lambda: sample(env, "ibkr_broker_quotes_conflated_total") > 0, 10,
                     "conflated quotes counted")  # fmt: skip
    stream.cancel()
    labels = {"grpc_method": "StreamQuotes", "grpc_type": "server_stream"}
    await wait_until(
        lambda: sample(env, "grpc_server_handled_total", grpc_service=SERVICE, **labels,
                       grpc_code="CANCELLED") == 1,
        10, "the cancelled stream counted",
    )  # fmt: skip
    await wait_until(lambda: sample(env, "ibkr_broker_market_data_lines") == 0, 10, "line freed")
    after = await scrape(env)
    assert after.value("ibkr_broker_quote_subscribers") == 0
    assert after.value("ibkr_broker_quotes_conflated_total") > 0
    assert after.value("grpc_server_handling_seconds_count", **labels) == 1


async def test_reconnects_and_decode_errors_are_counted(env: ServerEnv) -> None:
    assert env.app is not None
    env.sim.drop_all()
    await wait_until(lambda: sample(env, "ibkr_broker_tws_reconnects_total") == 1, 15,
                     "the reconnect counted")  # fmt: skip
    await env.wait_ready()
    (session,) = env.sim.sessions()
    # A tickPrice (id 1) with a mistyped req id, framed as the negotiated era frames text: from
    # server version 201 the id is a 4-byte binary field after the length.
    fields = (6, "not-a-number", 1, "1.0", 1, 0)
    if session.server_version >= 201:
        body = struct.pack(">I", 1) + b"".join(str(f).encode() + b"\0" for f in fields)
    else:
        body = b"".join(str(f).encode() + b"\0" for f in (1, *fields))
    session.send(struct.pack(">I", len(body)) + body)
    await wait_until(lambda: sample(env, "ibkr_broker_tws_decode_errors_total") == 1, 10,
                     "the decode error counted")  # fmt: skip
    await wait_until(lambda: sample(env, "ibkr_broker_tws_connected") == 1, 15, "ready again")
    got = await scrape(env)
    assert got.value("ibkr_broker_tws_decode_errors_total") == 1
    assert got.value("ibkr_broker_tws_reconnects_total") >= 1


async def test_the_kill_switch_moves_trading_halted(env: ServerEnv) -> None:
    await env.stub.HaltTrading(pb.HaltTradingRequest(request_id="h1", reason="test"), timeout=10)
    assert (await scrape(env)).value("ibkr_broker_trading_halted") == 1
    await env.stub.ResumeTrading(pb.ResumeTradingRequest(request_id="r1"), timeout=10)
    assert (await scrape(env)).value("ibkr_broker_trading_halted") == 0


async def test_other_paths_are_not_found_and_metrics_are_off_by_default(
    env: ServerEnv, tmp_path: Path
) -> None:
    assert env.app is not None and env.app.metrics_endpoint is not None
    url = f"http://127.0.0.1:{env.app.metrics_endpoint.port}/other"
    with pytest.raises(urllib.error.HTTPError) as missing:
        await asyncio.to_thread(urllib.request.urlopen, url, None, 10)
    assert missing.value.code == 404
    async with ServerEnv(tmp_path / "plain", env.sim, client_id=2) as plain:
        assert plain.app is not None
        assert plain.app.metrics is None and plain.app.metrics_endpoint is None


def test_the_grafana_dashboard_draws_every_series() -> None:
    import json

    dashboard = json.loads((Path(__file__).parents[2] / "deploy" / "grafana-dashboard.json")
                           .read_text())  # fmt: skip
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    for name in SERIES:
        assert name in exprs, f"no panel draws {name}"


def test_order_ack_is_measured_from_the_calls_arrival() -> None:
    """The histogram starts at the PlaceOrder call (CallObserver's call_started), not when the
    order entered the journal after validation and the risk checks."""
    import time
    from types import SimpleNamespace

    from ibkr_broker.server.api.observe import call_started
    from ibkr_broker.server.domain.model import OrderEventType, OrderStatus
    from ibkr_broker.server.metrics import Metrics

    def event(type_: OrderEventType, status: OrderStatus) -> Any:
        return SimpleNamespace(type=type_, order=SimpleNamespace(order_id="o1", status=status))

    metrics = Metrics()
    token = call_started.set(time.monotonic() - 3600)  # the call arrived an hour ago
    try:
        metrics.on_order_event(event(OrderEventType.CREATED, OrderStatus.PENDING_SUBMIT))
    finally:
        call_started.reset(token)
    metrics.on_order_event(event(OrderEventType.STATUS_CHANGED, OrderStatus.SUBMITTED))
    registry = metrics.registry
    assert registry.get_sample_value("ibkr_broker_order_ack_seconds_count") == 1
    assert (registry.get_sample_value("ibkr_broker_order_ack_seconds_sum") or 0) >= 3600


async def test_a_taken_metrics_port_fails_start_with_a_message(tmp_path: Path) -> None:
    import socket

    from ibkr_broker.server.app import BrokerApp

    from tests.integration.server_env import test_config

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        config = test_config(tmp_path / "data", 1, {"metrics": {"listen": listen}})
        app = BrokerApp(config)
        with pytest.raises(OSError, match=f"metrics: cannot listen on {listen}"):
            await app.start()
