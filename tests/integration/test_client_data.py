"""The client's data calls (BrokerClient both styles, IBKRAdapter) against the real server and
the simulator: historical bars, PnL, live bars and market depth."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ibkr_broker.client import (
    AsyncBrokerClient,
    BrokerClient,
    IBKRAdapter,
    InvalidOrderError,
    StreamReconnected,
)
from ibkr_broker.client import cli as client_cli
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
    end = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # in regular trading hours
    bars = adapter.bars("AAPL", "3600 S", "10 mins", end_time=end, what="midpoint")
    assert len(bars) == 6
    assert [b["time"] for b in bars] == sorted(b["time"] for b in bars)
    assert bars[-1]["time"] == end - timedelta(minutes=10)
    for bar in bars:
        assert set(bar) == {"time", "open", "high", "low", "close", "volume", "wap", "count"}
        assert isinstance(bar["close"], Decimal)
        assert bar["low"] <= min(bar["open"], bar["close"]) <= bar["high"]
    again = adapter.get_historical_bars("AAPL", "3600 S", "10 mins", end_time=end, what="midpoint")
    assert again == bars  # an identical request within 15 s: the first one's answer
    with pytest.raises(InvalidOrderError) as exc:
        adapter.bars("AAPL", "1 D", "7 mins")
    assert exc.value.field == "bar_size"
    with pytest.raises(ValueError, match="what must be one of"):
        adapter.bars("AAPL", what="volume")


def test_blocking_client_bars_and_retry_after(env: ThreadedServerEnv) -> None:
    """Without retries the pacing refusal says when; with them the client waits that long."""
    with BrokerClient(config=fast(env.target, retries=0)) as client:
        response = client.historical_bars("MSFT", "1 D", "1 hour")
        assert response.contract.symbol == "MSFT" and len(response.bars) > 0
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
            assert 0 < len(first.bars) <= 7


def test_adapter_streams_pnl_bars_and_a_live_book(
    env: ThreadedServerEnv, adapter: IBKRAdapter
) -> None:
    pnl = adapter.stream_pnl()
    first = next(pnl)
    assert first["type"] == "pnl" and first["account"] == "DU1234567" and first["con_id"] is None
    pnl.close()
    book_stream = adapter.stream_depth("AAPL", rows=5)
    books = [next(book_stream) for _ in range(20)]
    book_stream.close()
    for book in books:
        assert book["type"] == "book" and book["symbol"] == "AAPL"
    last = books[-1]
    assert 0 < len(last["bids"]) <= 5 and 0 < len(last["asks"]) <= 5
    # Depth arrives as separate row operations (as at IB), so a book read between the ask side's
    # and the bid side's changes may be crossed for a moment; most books are not.
    uncrossed = [b for b in books if b["bids"] and b["asks"]
                 and b["bids"][0]["price"] < b["asks"][0]["price"]]  # fmt: skip
    assert len(uncrossed) > len(books) // 2
    assert [r["price"] for r in last["bids"]] == sorted((r["price"] for r in last["bids"]),
                                                        reverse=True)
    bars = adapter.stream_bars("MSFT", "1 min", what="midpoint")
    forming = next(b for b in bars if b["type"] == "bar")
    bars.close()
    assert forming["symbol"] == "MSFT" and forming["completed"] is False
    assert forming["low"] <= forming["close"] <= forming["high"]


async def test_async_client_streams(tmp_path: Path) -> None:
    from ibkr_broker.client.data_values import DepthKeeper

    from .server_env import ServerEnv

    async with ServerEnv(tmp_path) as env:
        assert env.app is not None
        async with AsyncBrokerClient(config=fast(f"127.0.0.1:{env.app.port}")) as client:
            depth = client.stream_market_depth("SPY", rows=3)
            keeper = DepthKeeper()
            async for item in depth:
                if keeper.apply(item) and keeper.bids and keeper.asks:  # type: ignore[arg-type]
                    break
            await depth.aclose()
            assert keeper.symbol == "SPY" and len(keeper.bids) <= 3
            bars = client.stream_bars("SPY", what="midpoint")
            async for item in bars:
                if not isinstance(item, StreamReconnected) and item.HasField("bar"):
                    assert item.bar.completed and item.bar.con_id == 756733
                    break
            await bars.aclose()


def run_cli(env: ThreadedServerEnv, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code = client_cli.main([*args, "--target", env.target])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_bars_pnl_and_depth(env: ThreadedServerEnv, capsys: pytest.CaptureFixture[str]) -> None:
    def ok(*args: str) -> str:
        code, out, err = run_cli(env, capsys, *args)
        assert code == 0, err
        assert err == ""
        return out

    end = "2026-11-24T20:00:00Z"  # in regular trading hours
    bars = json.loads(ok("bars", "AAPL", "--duration", "3600 S", "--bar-size", "10 mins",
                         "--what", "midpoint", "--end", end, "--json"))  # fmt: skip
    assert len(bars) == 6 and set(bars[0]) >= {"time", "open", "high", "low", "close"}
    table = ok("bars", "AAPL", "--duration", "3600 S", "--bar-size", "10 mins", "--what",
               "midpoint", "--end", end, "--plain")  # the same request within 15 s: the same bars
    assert "10 mins bars of AAPL" in table and bars[-1]["close"] in table
    chart = ok("bars", "AAPL", "--duration", "1 D", "--bar-size", "1 hour", "--chart",
               "--height", "8").splitlines()  # fmt: skip
    assert chart[0] == "1 hour bars of AAPL over 1 D" and len(chart) == 9
    assert all("┤" in line for line in chart[1:]) and any("│" in line for line in chart[1:])
    pnl = [json.loads(line) for line in ok("pnl", "--count", "1", "--json").splitlines()]
    assert pnl[0]["type"] == "pnl" and pnl[0]["account"] == "DU1234567"
    assert "DU1234567" in ok("pnl", "--count", "1", "--plain")
    books = [json.loads(line) for line in ok("depth", "AAPL", "--rows", "4", "--count", "5",
                                             "--json").splitlines()]  # fmt: skip
    assert len(books) == 5 and all(b["type"] == "book" for b in books)
    assert 0 < len(books[-1]["bids"]) <= 4
    book = ok("depth", "SPY", "--count", "3", "--plain")
    assert book.count("SPY") >= 3 and "depth of SPY" in book
    code, _, err = run_cli(env, capsys, "bars", "AAPL", "--bar-size", "7 mins")
    assert code == 1 and "bar_size" in err and err.count("\n") == 1
    code, _, err = run_cli(env, capsys, "depth", "AAPL", "--rows", "0")
    assert code == 2 and "--rows" in err
