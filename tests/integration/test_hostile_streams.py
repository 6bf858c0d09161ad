"""Quote streams opened and cancelled in crowds leave no market-data line at TWS (issue 10,
defect 6 and the 1,000-stream campaign)."""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path

import grpc
import pytest
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import contract_pb2

from tests.waiting import wait_until

from .hostile_env import market_data_lines
from .server_env import ServerEnv

pytestmark = pytest.mark.timeout(180)

SYMBOLS = ("AAPL", "MSFT", "SPY", "QQQ", "AMZN", "GOOGL", "TSLA", "NVDA", "META", "IWM", "JPM")
CAMPAIGN_STREAMS = int(os.environ.get("IKB_STREAM_CAMPAIGN", "1000"))


def stock(symbol: str) -> contract_pb2.Contract:
    return contract_pb2.Contract(security_type=contract_pb2.SECURITY_TYPE_STOCK, symbol=symbol)


async def open_stream(env: ServerEnv, rng: random.Random) -> grpc.aio.UnaryStreamCall:  # type: ignore[type-arg]
    """A quote stream over 1-5 random stocks, returned once the server answered it."""
    symbols = rng.sample(SYMBOLS, rng.randint(1, 5))
    call = env.stub.StreamQuotes(pb.StreamQuotesRequest(contracts=[stock(s) for s in symbols]))
    first = await asyncio.wait_for(call.read(), 30)
    assert first is not grpc.aio.EOF and first.HasField("status"), first
    return call


async def crowd(env: ServerEnv, rng: random.Random, count: int) -> None:
    """Open `count` streams concurrently, then cancel every one of them at once."""
    calls = await asyncio.gather(*(open_stream(env, rng) for _ in range(count)))
    assert market_data_lines(env.sim) > 0
    for call in calls:
        call.cancel()


async def no_lines_left(env: ServerEnv) -> None:
    assert env.app is not None
    hub = env.app.session.market_data
    await wait_until(lambda: not hub.subscriptions, 30, "the server released every subscription")
    await wait_until(lambda: market_data_lines(env.sim) == 0, 30, "no market-data line at TWS")


async def test_cancelling_many_streams_at_once_releases_every_line(tmp_path: Path) -> None:
    async with ServerEnv(tmp_path) as env:
        await crowd(env, random.Random(6), 40)
        await no_lines_left(env)
        # The lines are free again: a new stream subscribes at TWS afresh.
        call = await open_stream(env, random.Random(1))
        assert market_data_lines(env.sim) > 0
        call.cancel()
        await no_lines_left(env)


async def test_campaign_of_1000_streams_over_random_contract_sets_leaves_no_line(
    tmp_path: Path,
) -> None:
    rng = random.Random(10)
    async with ServerEnv(tmp_path) as env:
        opened = 0
        while opened < CAMPAIGN_STREAMS:
            batch = min(rng.randint(1, 60), CAMPAIGN_STREAMS - opened)
            await crowd(env, rng, batch)
            opened += batch
            if rng.random() < 0.3:
                await no_lines_left(env)  # sometimes settle; usually overlap the next crowd
        await no_lines_left(env)
        assert sum(env.sim.stats.mkt_data.values()) > 0
