"""The gateway's historical-data pacing (server/session/history.py) over a hand-driven clock,
and the simulator's 162 rules (simulator/history_pacing.py)."""

from __future__ import annotations

import asyncio

import pytest
from ibkr_broker.server.domain.errors import InvalidArgument, RateLimited
from ibkr_broker.server.domain.history import BarQuery, BarSeries, BarSource, check_query
from ibkr_broker.server.domain.model import Contract, SecurityType
from ibkr_broker.server.session.history import HistoricalData
from ibkr_broker.simulator.codec.request_types import ReqHistoricalData
from ibkr_broker.simulator.history_pacing import HistoryPacing
from ibkr_broker.simulator.model import ContractSpec

pytestmark = pytest.mark.timeout(10)

AAPL = Contract(con_id=265598, security_type=SecurityType.STOCK, symbol="AAPL", exchange="SMART")


def query(duration: str = "1 D", con_id: int = 265598, source: BarSource = BarSource.TRADES
          ) -> BarQuery:
    contract = Contract(con_id=con_id, security_type=SecurityType.STOCK, symbol="X",
                        exchange="SMART")
    return BarQuery(contract, None, duration, "5 mins", source)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def history(clock: Clock, fail: bool = False) -> tuple[HistoricalData, list[BarQuery]]:
    sent: list[BarQuery] = []

    async def fetch(q: BarQuery, timeout: float) -> BarSeries:
        sent.append(q)
        if fail:
            raise RateLimited("162 from TWS", ib_code=162)
        return BarSeries(())

    return HistoricalData(fetch, clock), sent


async def test_the_seventh_request_for_one_line_in_two_seconds_must_wait() -> None:
    clock = Clock()
    data, sent = history(clock)
    for k in range(6):
        await data.bars(query(f"{k + 1} D"), deadline=clock.now)
    with pytest.raises(RateLimited) as exc:
        await data.bars(query("7 D"), deadline=clock.now + 1)
    assert exc.value.retry_after is not None and 2.0 < exc.value.retry_after <= 2.5
    await data.bars(query("7 D", source=BarSource.MIDPOINT), deadline=clock.now)  # another line
    clock.now += 2.5
    await data.bars(query("7 D"), deadline=clock.now)
    assert len(sent) == 8


async def test_sixty_in_ten_minutes() -> None:
    clock = Clock()
    data, sent = history(clock)
    for k in range(60):
        await data.bars(query("1 D", con_id=k), deadline=clock.now)
        clock.now += 1
    with pytest.raises(RateLimited) as exc:
        await data.bars(query("1 D", con_id=99), deadline=clock.now + 60)
    assert exc.value.retry_after is not None and 530 < exc.value.retry_after < 545
    clock.now += 545
    await data.bars(query("1 D", con_id=99), deadline=clock.now)
    assert len(sent) == 61


async def test_identical_requests_share_the_first_and_a_failed_first_still_counts() -> None:
    clock = Clock()
    data, sent = history(clock)
    first = await data.bars(query(), deadline=clock.now)
    again = await data.bars(query(), deadline=clock.now)
    assert not first.cached and again.cached and len(sent) == 1
    clock.now += 16
    assert not (await data.bars(query(), deadline=clock.now)).cached
    failing, _ = history(clock, fail=True)
    with pytest.raises(RateLimited):
        await failing.bars(query(), deadline=clock.now)
    with pytest.raises(RateLimited) as exc:
        await failing.bars(query(), deadline=clock.now + 1)
    assert exc.value.retry_after is not None and exc.value.retry_after > 14


async def test_requests_in_flight_wait_for_the_first_result() -> None:
    clock = Clock()
    release = asyncio.Event()
    calls = 0

    async def fetch(q: BarQuery, timeout: float) -> BarSeries:
        nonlocal calls
        calls += 1
        await release.wait()
        return BarSeries(())

    data = HistoricalData(fetch, clock)
    tasks = [asyncio.create_task(data.bars(query(), deadline=clock.now + 5)) for _ in range(3)]
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*tasks)
    assert calls == 1 and [r.cached for r in results] == [False, True, True]


@pytest.mark.parametrize(("duration", "bar_size", "field"), [
    ("1 D", "7 mins", "bar_size"), ("1 Q", "1 min", "duration"), ("0 D", "1 min", "duration"),
    ("1 D", "5 secs", "bar_size"), ("1 W", "1 month", "bar_size"), ("100000 S", "1 min",
                                                                      "duration"),
])
def test_ib_rejects_these_terms(duration: str, bar_size: str, field: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        check_query(duration, bar_size)
    assert exc.value.field == field


def test_simulator_sends_162_on_each_rule() -> None:
    pacing = HistoryPacing()

    def req(duration: str, con_id: int = 1) -> ReqHistoricalData:
        return ReqHistoricalData(1, ContractSpec(con_id=con_id), False, "", "1 min", duration,
                                 True, "TRADES", 2, False, "")

    assert pacing.violation(req("1 D"), 0.0) is None
    assert pacing.violation(req("1 D"), 14.0) is not None  # identical within 15 s
    for k in range(2, 8):
        assert pacing.violation(req(f"{k} D"), 15.0) is None
    assert pacing.violation(req("8 D"), 16.0) is not None  # 7th in 2 s
    assert pacing.violation(req("8 D"), 17.1) is None
    for k in range(52):
        assert pacing.violation(req("1 D", con_id=100 + k), 20.0 + k * 3) is None
    assert pacing.violation(req("1 D", con_id=999), 200.0) is not None  # 61st in 10 minutes
    assert pacing.violations == 3
