"""Faults between the server and TWS: drops, a daily restart, restarts of the server itself,
a missed fill, client id in use, connectivity notices and a burst that must respect pacing."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from ibkr_broker.server.domain.model import ConnectionState, OrderStatus
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import common_pb2, market_data_pb2, order_pb2

from tests.waiting import wait_until

from .server_env import AAPL, BUY, MSFT, SELL, ServerEnv, limit, market, new_simulator, place

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("tws_era")]


@pytest.fixture
async def env(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with ServerEnv(tmp_path) as env:
        yield env


async def test_drop_mid_stream_resumes_streams_and_loses_no_order_event(env: ServerEnv) -> None:
    quotes = env.stub.StreamQuotes(pb.StreamQuotesRequest(contracts=[AAPL]))
    events = env.stub.StreamOrderEvents(pb.StreamOrderEventsRequest())
    first = await env.stub.PlaceOrder(place(AAPL, market(BUY, "1")), timeout=10)
    states: list[int] = []
    after_interrupt = 0
    async for msg in quotes:
        if msg.HasField("status"):
            states.append(msg.status.state)
            if (
                msg.status.state == market_data_pb2.SUBSCRIPTION_STATE_SUBSCRIBED
                and len(states) == 1
            ):
                assert env.sim.drop_all() == 1
        elif msg.HasField("quotes") and market_data_pb2.SUBSCRIPTION_STATE_INTERRUPTED in states:
            after_interrupt += 1
            if after_interrupt >= 3:
                break
    quotes.cancel()
    assert market_data_pb2.SUBSCRIPTION_STATE_INTERRUPTED in states
    assert states[-1] == market_data_pb2.SUBSCRIPTION_STATE_SUBSCRIBED
    await env.wait_ready()
    assert env.sim.stats.mkt_data[265598] == 2  # restored once after the reconnect
    second = await env.stub.PlaceOrder(place(AAPL, market(BUY, "1")), timeout=10)
    assert second.order.ib_order_id > first.order.ib_order_id
    seen: dict[str, set[int]] = {first.order.order_id: set(), second.order.order_id: set()}
    session_states = []
    async for msg in events:
        if msg.HasField("status"):
            session_states.append(msg.status.connection_state)
        if msg.HasField("event") and msg.event.order.order_id in seen:
            seen[msg.event.order.order_id].add(msg.event.type)
        if all(order_pb2.ORDER_EVENT_TYPE_FILL in kinds for kinds in seen.values()):
            break
    events.cancel()
    assert common_pb2.CONNECTION_STATE_RECONNECTING in session_states
    ids = [o.request.order_id for o in env.sim_orders()]
    assert len(ids) == len(set(ids)), "an IB order id was reused"


async def test_daily_restart_keeps_orders_tracked_and_health_follows(env: ServerEnv) -> None:
    quote = (await env.stub.GetQuote(pb.GetQuoteRequest(contract=MSFT), timeout=5)).quote
    far = str((Decimal(quote.ask) * 2).quantize(Decimal("0.01")))
    resting = (await env.stub.PlaceOrder(place(MSFT, limit(SELL, "2", far)), timeout=10)).order
    health = health_pb2_grpc.HealthStub(env.channel)
    await env.sim.go_away(2.0)
    session = env.app.session  # type: ignore[union-attr]
    await wait_until(lambda: not session.ready, 5, "session noticed the restart")
    reply = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await env.stub.PlaceOrder(place(MSFT, market(BUY, "1")), timeout=5)
    assert exc.value.code() == grpc.StatusCode.UNAVAILABLE
    await env.wait_ready(15)
    reply = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    got = (await env.stub.GetOrder(pb.GetOrderRequest(order_id=resting.order_id), timeout=5)).order
    assert got.status == order_pb2.ORDER_STATUS_SUBMITTED
    cancelled = (
        await env.stub.CancelOrder(
            pb.CancelOrderRequest(request_id=uuid.uuid4().hex, order_id=resting.order_id),
            timeout=10,
        )
    ).order
    assert cancelled.status == order_pb2.ORDER_STATUS_CANCELLED


async def test_fill_missed_while_disconnected_is_recovered(env: ServerEnv) -> None:
    env.sim.set_delay(400)  # the fill happens at once; its messages are still in flight
    request = place(AAPL, market(BUY, "3"), request_id="missed-fill")
    call = asyncio.ensure_future(env.stub.PlaceOrder(request, timeout=10))
    await wait_until(
        lambda: any(o.request.order_ref == "ikb:missed-fill" for o in env.sim_orders()),
        5,
        "order at the simulator",
    )
    await wait_until(lambda: len(env.sim.exchange.executions()) > 0, 5, "filled at simulator")
    env.sim.drop_all()
    env.sim.set_delay(0)
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await call
    assert exc.value.code() == grpc.StatusCode.UNAVAILABLE
    await env.wait_ready()
    book = env.app.session.orders  # type: ignore[union-attr]
    await wait_until(
        lambda: book.by_request("missed-fill").status is OrderStatus.FILLED,
        10,
        "fill reconciled from reqExecutions",
    )
    again = await env.stub.PlaceOrder(request, timeout=10)  # the retry places nothing new
    assert again.order.status == order_pb2.ORDER_STATUS_FILLED
    assert sum(o.request.order_ref == "ikb:missed-fill" for o in env.sim_orders()) == 1


async def test_same_request_id_across_a_server_restart_places_one_order(env: ServerEnv) -> None:
    request = place(AAPL, market(BUY, "2"), request_id="restart-safe")
    first = await env.stub.PlaceOrder(request, timeout=10)
    await env.restart_server()
    second = await env.stub.PlaceOrder(request, timeout=10)
    assert second.order.order_id == first.order.order_id
    assert sum(o.request.order_ref == "ikb:restart-safe" for o in env.sim_orders()) == 1
    third = await env.stub.PlaceOrder(place(AAPL, market(BUY, "1")), timeout=10)
    assert third.order.ib_order_id > first.order.ib_order_id


async def test_client_id_in_use_is_retried_not_fatal(tmp_path: Path) -> None:
    sim = new_simulator(seed=3, tick_interval=0.05)
    await sim.start()
    squatter = await asyncio.open_connection("127.0.0.1", sim.port)
    reader, writer = squatter
    writer.write(b"API\0" + len(b"v100..178").to_bytes(4, "big") + b"v100..178")
    await reader.read(64)
    start_api = b"71\x002\x001\x00\x00"
    writer.write(len(start_api).to_bytes(4, "big") + start_api)
    await sim.wait_for(lambda: 1 in sim.client_ids(), 5, "squatter holds client id 1")
    env = ServerEnv(tmp_path, sim=sim)
    starting = asyncio.ensure_future(env.start_server())
    await sim.wait_for(lambda: sim.stats.client_id_in_use >= 1, 10, "326 sent to the server")
    assert env.app is not None and not env.app.session.ready
    writer.close()
    await starting  # the server retries with backoff and becomes ready
    assert (await env.stub.GetStatus(pb.GetStatusRequest(), timeout=5)).connection_state == (
        common_pb2.CONNECTION_STATE_READY
    )
    await env.stop_server()
    await sim.stop()


async def test_connectivity_notices_interrupt_and_restore_quotes(env: ServerEnv) -> None:
    session = env.app.session  # type: ignore[union-attr]
    stream = env.stub.StreamQuotes(pb.StreamQuotesRequest(contracts=[AAPL]))
    states: list[int] = []
    async for msg in stream:
        if msg.HasField("status"):
            states.append(msg.status.state)
        if msg.HasField("quotes"):
            break
    env.sim.notice(1100)
    env.sim.notice(1101)
    async for msg in stream:
        if msg.HasField("status"):
            states.append(msg.status.state)
        if msg.HasField("quotes") and len(states) >= 3:
            break
    stream.cancel()
    assert market_data_pb2.SUBSCRIPTION_STATE_INTERRUPTED in states
    assert env.sim.stats.mkt_data[265598] == 2  # resubscribed after "data lost"
    assert session.state is ConnectionState.READY  # a notice never drops the session
    resumed = states[states.index(market_data_pb2.SUBSCRIPTION_STATE_INTERRUPTED) :]
    assert market_data_pb2.SUBSCRIPTION_STATE_SUBSCRIBED in resumed
    hub = session.market_data
    await wait_until(lambda: not hub.subscriptions, 5, "stream cancelled, IB line released")


async def test_burst_of_500_orders_passes_pacing(env: ServerEnv) -> None:
    quote = (await env.stub.GetQuote(pb.GetQuoteRequest(contract=MSFT), timeout=5)).quote
    far = str((Decimal(quote.bid) / 2).quantize(Decimal("0.01")))
    sem = asyncio.Semaphore(100)

    async def one(i: int) -> int:
        async with sem:
            reply = await env.stub.PlaceOrder(place(MSFT, limit(BUY, "1", far)), timeout=60)
            return reply.order.ib_order_id

    ids = await asyncio.gather(*(one(i) for i in range(500)))
    assert len(set(ids)) == 500
    assert env.sim.stats.pacing_violations == 0
    assert env.sim.stats.requests["PlaceOrder"] >= 500
