"""StreamBars, StreamPnL and StreamMarketDepth through an edge: the gateway runs them with its own
servicer and the edge relays them. Same content as on the gateway, the same errors with their
details, and the gateway's lines at TWS released when the client cancels or its edge dies."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest
from ibkr_broker.simulator.server import SimulatorServer
from ibkr_broker.v1 import bars_pb2, feeds_pb2
from ibkr_broker.v1 import broker_service_pb2 as pb

from tests.waiting import wait_until, wait_until_async

from .bus_env import Client, NatsServer, edge_process, start_edge, start_gateway
from .server_env import AAPL, BUY, MSFT, market, new_simulator, place

pytestmark = pytest.mark.timeout(120)
BARS = pb.StreamBarsRequest(contract=AAPL, source=bars_pb2.BAR_SOURCE_MIDPOINT)


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    sim = new_simulator(seed=7, tick_interval=0.02)
    await sim.start()
    async with NatsServer(tmp_path) as nats_server:
        gateway = await start_gateway(tmp_path / "gw", sim.port, nats_server.url)
        edge = await start_edge(tmp_path / "edge", nats_server.url)
        direct, via_edge = Client(gateway.port), Client(edge.port)
        await wait_until(lambda: bool(edge.backend.live()), 10, "the edge sees the gateway")
        try:
            yield {"sim": sim, "nats": nats_server, "gateway": gateway, "edge": edge,
                   "direct": direct.stub, "edge_stub": via_edge.stub}  # fmt: skip
        finally:
            for client in (direct, via_edge):
                await client.close()
            await edge.stop()
            await gateway.stop()
    await sim.stop()


def lines(sim: SimulatorServer) -> dict[str, int]:
    """What the simulator serves now, over every connection: market data, bars, depth, PnL."""
    sessions = sim.sessions()
    return {
        "mkt": sum(len(s.mkt) for s in sessions),
        "bars": sum(len(s.data.bars) for s in sessions),
        "depth": sum(len(s.data.depth) for s in sessions),
        "pnl": sum(len(s.pnl) + len(s.data.pnl_single) for s in sessions),
    }


async def answers(client: Client) -> bool:
    try:
        await client.stub.GetStatus(pb.GetStatusRequest(), timeout=5)
    except grpc.aio.AioRpcError:
        return False
    return True


def released(sim: SimulatorServer) -> bool:
    return not any(lines(sim).values())


async def next_of(stream: Any, field: str, timeout: float = 20) -> Any:
    """The next message of `stream` carrying `field` (heartbeats and others skipped)."""

    async def find() -> Any:
        while True:
            message = await stream.read()
            if message is grpc.aio.EOF:
                raise AssertionError(f"stream ended before a {field}")
            if message.HasField(field):
                return message

    return await asyncio.wait_for(find(), timeout)


async def test_bars_through_the_edge_are_the_gateways(bus: dict[str, Any]) -> None:
    direct, relayed = bus["direct"].StreamBars(BARS), bus["edge_stub"].StreamBars(BARS)
    first, second = await asyncio.gather(next_of(direct, "bar"), next_of(relayed, "bar"))
    assert first.bar == second.bar and second.bar.completed
    assert Decimal(second.bar.bar.low) <= Decimal(second.bar.bar.close)
    assert bus["sim"].stats.requests["ReqRealTimeBars"] == 1  # one line at TWS for both
    assert lines(bus["sim"])["bars"] == 1
    relayed.cancel()
    await wait_until(lambda: len(bus["gateway"].bus.relay) == 0, 10, "the gateway's stream ends")
    assert lines(bus["sim"])["bars"] == 1  # the direct stream still has it
    direct.cancel()
    await wait_until(lambda: released(bus["sim"]), 10, "the bar line is released at TWS")


async def test_pnl_through_the_edge_is_the_gateways_and_moves(bus: dict[str, Any]) -> None:
    direct, relayed = (
        bus["direct"].StreamPnL(pb.StreamPnLRequest()),
        bus["edge_stub"].StreamPnL(pb.StreamPnLRequest()),
    )
    first, second = await asyncio.gather(next_of(direct, "pnl"), next_of(relayed, "pnl"))
    assert first.pnl == second.pnl and second.pnl.account_id == "DU1234567"
    direct.cancel()
    await bus["edge_stub"].PlaceOrder(place(AAPL, market(BUY, "100")), timeout=15)
    moved = await next_of(relayed, "pnl")
    assert (moved.pnl.unrealized_pnl, moved.pnl.daily_pnl) != (
        second.pnl.unrealized_pnl, second.pnl.daily_pnl)  # fmt: skip
    assert moved.sequence > second.sequence
    relayed.cancel()
    await wait_until(lambda: released(bus["sim"]), 10, "the PnL line is released at TWS")


def book_of(message: Any) -> dict[int, list[tuple[Decimal, Decimal]]]:
    return {
        feeds_pb2.DEPTH_SIDE_ASK: [(Decimal(r.price), Decimal(r.size)) for r in message.asks],
        feeds_pb2.DEPTH_SIDE_BID: [(Decimal(r.price), Decimal(r.size)) for r in message.bids],
    }


def apply(book: dict[int, list[tuple[Decimal, Decimal]]], change: Any) -> None:
    rows = book[change.side]
    row = (Decimal(change.row.price), Decimal(change.row.size))
    if change.operation == feeds_pb2.DEPTH_OPERATION_INSERT:
        rows.insert(change.position, row)
    elif change.operation == feeds_pb2.DEPTH_OPERATION_UPDATE:
        rows[change.position] = row
    else:
        del rows[change.position]


async def test_depth_through_the_edge_builds_the_simulators_book(bus: dict[str, Any]) -> None:
    sim = bus["sim"]
    stream = bus["edge_stub"].StreamMarketDepth(pb.StreamMarketDepthRequest(contract=AAPL, rows=8))
    book: dict[int, list[tuple[Decimal, Decimal]]] = {}
    applied = 0

    def sim_book() -> dict[int, list[tuple[Decimal, Decimal]]]:
        (feed,) = [f for s in sim.sessions() for f in s.data.depth.values()]
        return {feeds_pb2.DEPTH_SIDE_ASK: [(r.price, r.size) for r in feed.asks],
                feeds_pb2.DEPTH_SIDE_BID: [(r.price, r.size) for r in feed.bids]}  # fmt: skip

    async def read() -> None:
        nonlocal book, applied
        async for message in stream:
            if message.HasField("book"):
                book = book_of(message.book)
            for change in message.updates.changes:
                apply(book, change)
                applied += 1

    reader = asyncio.create_task(read())
    try:
        await wait_until(lambda: applied >= 300, 60, "300 depth changes through the edge")
        sim.pause_market()  # no more changes: every one sent reaches the stream
        await wait_until(lambda: book == sim_book(), 15, "the edge stream's book is the sim's")
    finally:
        reader.cancel()
        stream.cancel()
    await wait_until(lambda: released(sim), 10, "the depth line is released at TWS")
    assert len(bus["gateway"].bus.relay) == 0


BAD: list[tuple[str, Any, str]] = [
    ("StreamMarketDepth", pb.StreamMarketDepthRequest(contract=AAPL, rows=51), "ReqMktDepth"),
    ("StreamMarketDepth", pb.StreamMarketDepthRequest(rows=5), "ReqMktDepth"),
    ("StreamBars", pb.StreamBarsRequest(contract=AAPL, bar_size="1 min"), "ReqRealTimeBars"),
    ("StreamPnL", pb.StreamPnLRequest(account_ids=["DU9999999"]), "ReqPnL"),
]


async def refusal(call: Any) -> tuple[grpc.StatusCode, str, bytes]:
    """The code, message and google.rpc.Status details of a stream that must fail."""
    with pytest.raises(grpc.aio.AioRpcError) as err:
        async for _ in call:
            pass
    trailing = dict(err.value.trailing_metadata() or ())
    return err.value.code(), err.value.details() or "", trailing.get("grpc-status-details-bin", b"")


@pytest.mark.parametrize(("method", "request_msg", "kind"), BAD, ids=[m for m, _, _ in BAD])
async def test_a_bad_stream_request_fails_at_the_edge_as_at_the_gateway(
    bus: dict[str, Any], method: str, request_msg: Any, kind: str
) -> None:
    at_gateway = await refusal(getattr(bus["direct"], method)(request_msg, timeout=10))
    at_edge = await refusal(getattr(bus["edge_stub"], method)(request_msg, timeout=10))
    assert at_gateway[0] == grpc.StatusCode.INVALID_ARGUMENT
    assert at_gateway[2], "the gateway gives a google.rpc.Status with a BadRequest"
    assert at_edge == at_gateway
    assert bus["sim"].stats.requests[kind] == 0
    assert len(bus["gateway"].bus.relay) == 0


async def test_an_edge_killed_mid_stream_releases_the_gateways_lines(
    bus: dict[str, Any], tmp_path: Path
) -> None:
    sim, relay = bus["sim"], bus["gateway"].bus.relay
    relay.leases.lapse_after = 10.0  # the edge process renews every 5 s; it will not any more
    process, port = await edge_process(tmp_path / "doomed", bus["nats"].url)
    doomed = Client(port)
    try:
        await wait_until_async(lambda: answers(doomed), 15, "the edge process sees the gateway")
        depth = doomed.stub.StreamMarketDepth(pb.StreamMarketDepthRequest(contract=MSFT))
        bars = doomed.stub.StreamBars(BARS)
        await next_of(depth, "book")
        await next_of(bars, "bar")
        assert lines(sim)["depth"] == 1 and lines(sim)["bars"] == 1 and len(relay) == 2
        process.send_signal(signal.SIGKILL)  # no cancel message: only the lease can tell
        await wait_until(lambda: len(relay) == 0, 40, "the gateway drops the lapsed streams")
        await wait_until(lambda: released(sim), 10, "their lines are released at TWS")
    finally:
        await doomed.close()
        if process.poll() is None:
            process.kill()
        await asyncio.to_thread(process.wait, 10)


async def test_a_stream_whose_gateway_went_silent_ends_unavailable(bus: dict[str, Any]) -> None:
    streams = bus["edge"].backend.streams
    streams.confirmed.lapse_after = 6.0  # renewals every 5 s: one unanswered round is enough
    relayed = bus["edge_stub"].StreamBars(BARS)
    await next_of(relayed, "bar")
    await bus["gateway"].bus.nc.close()  # the gateway loses the bus without a word
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await next_of(relayed, "never", timeout=30)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "has not answered" in (err.value.details() or "")
    await wait_until(lambda: not streams.streams, 5, "the edge forgets the stream")
    await wait_until(lambda: released(bus["sim"]), 15, "the gateway's stream ended too")
