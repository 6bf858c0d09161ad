"""The client's data calls (BrokerClient both styles, IBKRAdapter) against the real server and
the simulator: historical bars."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from ibkr_broker.client import AsyncBrokerClient, BrokerClient, IBKRAdapter, InvalidOrderError
from ibkr_broker.client.errors import RateLimitedError

from .client_env import ThreadedServerEnv
from .client_env import fast_config as fast

pytestmark = [pytest.mark.timeout(90), pytest.mark.usefixtures("tws_era")]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[ThreadedServerEnv]:
    with ThreadedServerEnv(tmp_path) as running:
        yield running


@pytest.fixture
def adapter(env: ThreadedServerEnv) -> Iterator[IBKRAdapter]:
    with IBKRAdapter({}, client=BrokerClient(config=fast(env.target))) as a:
        yield a


def test_adapter_bars_are_dicts_of_decimals_oldest_first(
    env: ThreadedServerEnv, adapter: IBKRAdapter
) -> None:
    now = datetime.now(UTC)
    end = now.replace(minute=now.minute // 10 * 10, second=0, microsecond=0) - timedelta(hours=1)
    bars = adapter.bars("AAPL", "3600 S", "10 mins", end_time=end, what="midpoint")
    assert len(bars) == 6
    assert [b["time"] for b in bars] == sorted(b["time"] for b in bars)
    assert bars[-1]["time"] == end - timedelta(minutes=10)
    for bar in bars:
        assert set(bar) == {"time", "open", "high", "low", "close", "volume", "wap", "count"}
        assert isinstance(bar["close"], Decimal)
        assert bar["low"] <= min(bar["open"], bar["close"]) <= bar["high"]
    assert adapter.get_historical_bars("AAPL", "3600 S", "10 mins", end_time=end) == bars
    with pytest.raises(InvalidOrderError) as exc:
        adapter.bars("AAPL", "1 D", "7 mins")
    assert exc.value.field == "bar_size"
    with pytest.raises(ValueError, match="what must be one of"):
        adapter.bars("AAPL", what="volume")


def test_blocking_client_bars_and_retry_after(env: ThreadedServerEnv) -> None:
    """Without retries the pacing refusal says when; with them the client waits that long."""
    with BrokerClient(config=fast(env.target, retries=0)) as client:
        response = client.historical_bars("MSFT", "1 D", "1 hour")
        assert response.contract.symbol == "MSFT" and len(response.bars) == 24
        for k in range(5):  # six distinct requests for MSFT: the seventh must wait 2 s
            client.historical_bars("MSFT", f"{k + 2} D", "1 hour")
        with pytest.raises(RateLimitedError) as exc:
            client.historical_bars("MSFT", "9 D", "1 hour", timeout=0.5)
        assert exc.value.retry_after is not None and 0.5 < exc.value.retry_after <= 3
    with BrokerClient(config=fast(env.target)) as client:
        assert len(client.historical_bars("MSFT", "10 D", "1 day", timeout=0.5).bars) == 10


async def test_async_client_bars(tmp_path: Path) -> None:
    from .server_env import ServerEnv

    async with ServerEnv(tmp_path) as env:
        assert env.app is not None
        async with AsyncBrokerClient(config=fast(f"127.0.0.1:{env.app.port}")) as client:
            first, second = await asyncio.gather(
                client.historical_bars("SPY", "1 W", "1 day"),
                client.historical_bars("SPY", "1 W", "1 day"),
            )
            assert [first.shared, second.shared].count(True) == 1
            assert list(first.bars) == list(second.bars)
            assert len(first.bars) == 7
