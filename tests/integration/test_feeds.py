"""StreamPnL, StreamBars and StreamMarketDepth through the real server and the simulator, in
both protocol eras: PnL moves after a fill, two bar streams share one IB subscription, a depth
book rebuilt from 1,000+ changes equals the simulator's, IB's depth limit is a status, and bad
input never reaches TWS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest
from ibkr_broker.v1 import bars_pb2, feeds_pb2, market_data_pb2
from ibkr_broker.v1 import broker_service_pb2 as pb

from tests.waiting import wait_until

from .server_env import AAPL, BUY, MSFT, ServerEnv, market, new_simulator, place

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("tws_era")]


@pytest.fixture
async def env(tmp_path: Path):  # type: ignore[no-untyped-def]
    sim = new_simulator(seed=7, tick_interval=0.02)
    await sim.start()
    try:
        async with ServerEnv(tmp_path, sim) as env:
            yield env
    finally:
        await sim.stop()


async def next_of(stream: AsyncIterator[Any], field: str, timeout: float = 15) -> Any:
    """The next message of `stream` carrying `field` (heartbeats and others skipped)."""
    async def find() -> Any:
        async for message in stream:
            if message.HasField(field):
                return getattr(message, field)
        raise AssertionError(f"stream ended before a {field}")

    return await asyncio.wait_for(find(), timeout)


async def test_pnl_moves_after_a_fill(env: ServerEnv) -> None:
    stream = env.stub.StreamPnL(pb.StreamPnLRequest())
    first = await next_of(stream, "pnl")
    assert first.account_id == "DU1234567" and first.con_id == 0
    await env.stub.PlaceOrder(place(AAPL, market(BUY, "100")), timeout=10)
    moved = await next_of(stream, "pnl")
    assert (moved.daily_pnl, moved.unrealized_pnl, moved.realized_pnl) != (
        first.daily_pnl, first.unrealized_pnl, first.realized_pnl)
    stream.cancel()
    positions = env.stub.StreamPnL(pb.StreamPnLRequest(include_positions=True))
    seen: dict[int, Any] = {}
    while 265598 not in seen:
        value = await next_of(positions, "pnl")
        seen[value.con_id] = value
    assert Decimal(seen[265598].position) == 100 and Decimal(seen[265598].market_value) > 0
    assert env.sim.stats.requests["ReqPnL"] == 2  # one per stream: the first one was left
    positions.cancel()


async def test_two_bar_streams_share_one_ib_subscription(env: ServerEnv) -> None:
    request = pb.StreamBarsRequest(contract=AAPL, source=bars_pb2.BAR_SOURCE_MIDPOINT)
    one, two = env.stub.StreamBars(request), env.stub.StreamBars(request)
    first, second = await asyncio.gather(next_of(one, "bar"), next_of(two, "bar"))
    assert first == second and first.completed
    bar = first.bar
    assert Decimal(bar.low) <= Decimal(bar.close) <= Decimal(bar.high)
    assert bar.start_time.seconds % 5 == 0
    assert env.sim.stats.requests["ReqRealTimeBars"] == 1
    one.cancel()
    two.cancel()
    await wait_until(lambda: env.sim.stats.requests["CancelRealTimeBars"] == 1, 5,
                     "the last stream cancels the subscription")


async def test_kept_up_to_date_bars(env: ServerEnv) -> None:
    request = pb.StreamBarsRequest(contract=MSFT, kind=feeds_pb2.LIVE_BAR_KIND_KEEP_UP_TO_DATE,
                                   bar_size="1 min")
    stream = env.stub.StreamBars(request)
    forming = await next_of(stream, "bar")
    assert not forming.completed and forming.bar.start_time.seconds % 60 == 0
    again = await next_of(stream, "bar")
    assert again.bar.start_time.seconds >= forming.bar.start_time.seconds
    assert env.sim.history_pacing.accepted == 1 and env.sim.history_pacing.violations == 0
    stream.cancel()


def apply(book: dict[int, list[tuple[Decimal, Decimal]]], change: Any) -> None:
    rows = book[change.side]
    row = (Decimal(change.row.price), Decimal(change.row.size))
    if change.operation == feeds_pb2.DEPTH_OPERATION_INSERT:
        rows.insert(change.position, row)
    elif change.operation == feeds_pb2.DEPTH_OPERATION_UPDATE:
        rows[change.position] = row
    else:
        del rows[change.position]


async def test_depth_book_equals_the_simulators_after_1000_updates(env: ServerEnv) -> None:
    stream = env.stub.StreamMarketDepth(pb.StreamMarketDepthRequest(contract=AAPL, rows=8))
    book: dict[int, list[tuple[Decimal, Decimal]]] = {}
    applied = 0
    operations: set[int] = set()

    def sim_book() -> dict[int, list[tuple[Decimal, Decimal]]]:
        (feed,) = [f for s in env.sim.sessions() for f in s.data.depth.values()]
        return {feeds_pb2.DEPTH_SIDE_ASK: [(r.price, r.size) for r in feed.asks],
                feeds_pb2.DEPTH_SIDE_BID: [(r.price, r.size) for r in feed.bids]}

    async def read() -> None:
        nonlocal book, applied
        async for message in stream:
            if message.HasField("book"):
                book = {feeds_pb2.DEPTH_SIDE_ASK: [(Decimal(r.price), Decimal(r.size))
                                                   for r in message.book.asks],
                        feeds_pb2.DEPTH_SIDE_BID: [(Decimal(r.price), Decimal(r.size))
                                                   for r in message.book.bids]}
            for change in message.updates.changes:
                apply(book, change)
                operations.add(change.operation)
                applied += 1

    reader = asyncio.create_task(read())
    try:
        await wait_until(lambda: applied >= 1000, 60, "1,000 depth changes")
        env.sim.pause_market()  # no more changes: every one sent reaches the stream
        await wait_until(lambda: book == sim_book(), 10, "the stream's book is the simulator's")
    finally:
        reader.cancel()
        stream.cancel()
    assert operations == {feeds_pb2.DEPTH_OPERATION_INSERT, feeds_pb2.DEPTH_OPERATION_UPDATE,
                          feeds_pb2.DEPTH_OPERATION_DELETE}
    assert 0 < len(book[feeds_pb2.DEPTH_SIDE_BID]) <= 8


async def test_ibs_depth_limit_is_a_stream_status(env: ServerEnv) -> None:
    env.sim.config.max_depth_subscriptions = 1
    first = env.stub.StreamMarketDepth(pb.StreamMarketDepthRequest(contract=AAPL))
    assert (await next_of(first, "book")).contract.symbol == "AAPL"
    second = env.stub.StreamMarketDepth(pb.StreamMarketDepthRequest(contract=MSFT))
    messages = [m async for m in second]  # the stream ends after the status
    statuses = [m.status for m in messages if m.HasField("status")]
    assert [s.state for s in statuses] == [market_data_pb2.SUBSCRIPTION_STATE_DEPTH_LIMIT_REACHED]
    assert statuses[0].error.code == 309 and statuses[0].con_id == 272093
    first.cancel()


BAD: list[tuple[str, Any, str, str]] = [
    ("StreamMarketDepth", pb.StreamMarketDepthRequest(contract=AAPL, rows=51), "rows",
     "ReqMktDepth"),
    ("StreamMarketDepth", pb.StreamMarketDepthRequest(contract=AAPL, rows=-1), "rows",
     "ReqMktDepth"),
    ("StreamMarketDepth", pb.StreamMarketDepthRequest(rows=5), "contract", "ReqMktDepth"),
    ("StreamBars", pb.StreamBarsRequest(contract=AAPL, bar_size="1 min"), "bar_size",
     "ReqRealTimeBars"),
    ("StreamBars", pb.StreamBarsRequest(contract=AAPL, source=bars_pb2.BAR_SOURCE_BID_ASK),
     "source", "ReqRealTimeBars"),
    ("StreamBars", pb.StreamBarsRequest(contract=AAPL, kind=feeds_pb2.LIVE_BAR_KIND_KEEP_UP_TO_DATE,
                                        bar_size="7 mins"), "bar_size", "ReqHistoricalData"),
    ("StreamBars", pb.StreamBarsRequest(contract=AAPL, kind=7), "kind", "ReqRealTimeBars"),
    ("StreamPnL", pb.StreamPnLRequest(account_ids=["DU9999999"]), "account_ids[0]", "ReqPnL"),
]


@pytest.mark.parametrize(("method", "request_msg", "field", "kind"), BAD,
                         ids=[f"{m}-{f}" for m, _, f, _ in BAD])
async def test_bad_input_is_invalid_argument_before_tws(
    env: ServerEnv, method: str, request_msg: Any, field: str, kind: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        async for _ in getattr(env.stub, method)(request_msg, timeout=5):
            pass
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT, exc.value.details()
    assert (exc.value.details() or "").startswith(field)
    assert env.sim.stats.requests[kind] == 0
