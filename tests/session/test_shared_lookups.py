"""Identical lookups share one answer (issue 13): concurrent identical requests wait on one TWS
request and all get its answer, a failed one fails every waiter, and resolved contracts are
reused for their lifetime."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from ibkr_broker.server.domain import errors
from ibkr_broker.server.domain.model import Contract, SecurityType
from ibkr_broker.server.session import ib_port as g
from ibkr_broker.server.session.broker_session import BrokerSession
from ibkr_broker.server.session.shared import SharedCalls, TtlCache
from ibkr_broker.server.session.store import Store
from ibkr_broker.server.trading.trader import Trader

from .fake_gateway import AAPL, FAST, MSFT, FakeGateway

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[tuple[BrokerSession, Trader, FakeGateway]]:
    gw = FakeGateway()
    session = BrokerSession(gw, FAST, Store(tmp_path / "s.db"))
    await session.start()
    await session.wait_ready(2)
    yield session, Trader(session), gw
    await session.stop()


def spec(symbol: str) -> Contract:
    return Contract(security_type=SecurityType.STOCK, symbol=symbol)


async def test_a_storm_of_identical_resolutions_costs_one_lookup_per_contract(
    env: tuple[BrokerSession, Trader, FakeGateway],
) -> None:
    _session, trader, gw = env
    wanted = [spec("AAPL"), spec("MSFT")] * 100  # 100 streams opening at once for 2 contracts
    resolved = await asyncio.gather(*(trader.resolve_one(c) for c in wanted))
    assert resolved == [AAPL, MSFT] * 100
    assert gw.count("req_contract_details") == 2
    assert await trader.resolve_one(spec("AAPL")) == AAPL  # from the cache now
    assert gw.count("req_contract_details") == 2


async def test_identical_reads_share_one_request_and_the_same_answer(
    env: tuple[BrokerSession, Trader, FakeGateway],
) -> None:
    session, _trader, gw = env
    details = await asyncio.gather(*(session.queries.contract_details(AAPL) for _ in range(20)))
    assert gw.count("req_contract_details") == 1
    assert all(d == details[0] and len(d) == 1 for d in details)
    details[0].clear()  # a waiter's list is its own
    assert len(details[1]) == 1
    quotes = await asyncio.gather(*(session.queries.snapshot_quote(MSFT) for _ in range(10)))
    assert gw.count("req_mkt_data") == 1 and len(set(quotes)) == 1
    positions = await asyncio.gather(*(session.queries.positions() for _ in range(10)))
    assert gw.count("req_positions") == 1 and all(p == positions[0] for p in positions)


async def test_a_failed_shared_lookup_fails_every_waiter_and_the_next_asks_again(
    env: tuple[BrokerSession, Trader, FakeGateway],
) -> None:
    session, _trader, gw = env
    answer = gw.req_contract_details
    gw.req_contract_details = lambda req_id, contract: gw.emit(  # type: ignore[method-assign]
        g.ErrorEvent(req_id, 200, "No security definition has been found", "")
    )
    outcomes = await asyncio.gather(
        *(session.queries.contract_details(AAPL) for _ in range(10)), return_exceptions=True
    )
    assert all(isinstance(o, errors.ContractNotFound) for o in outcomes), outcomes
    assert len({id(o) for o in outcomes}) == 1  # the same failure, once
    gw.req_contract_details = answer  # type: ignore[method-assign]
    assert [d.contract for d in await session.queries.contract_details(AAPL)] == [AAPL]


async def test_a_cancelled_waiter_leaves_the_shared_request_to_the_others() -> None:
    shared = SharedCalls()
    release, entered = asyncio.Event(), asyncio.Event()

    async def lookup() -> str:
        entered.set()
        await release.wait()
        return "answer"

    first = asyncio.ensure_future(shared.run("k", lookup))
    second = asyncio.ensure_future(shared.run("k", lookup))
    await entered.wait()  # the request runs after both callers joined it (tasks start in order)
    first.cancel()
    release.set()
    assert await second == "answer"
    assert first.cancelled() and shared.started == 1


def test_cached_answers_expire_and_the_cache_is_bounded() -> None:
    now = [0.0]
    cache: TtlCache[str, int] = TtlCache(lifetime=10, max_entries=3, clock=lambda: now[0])
    for i, key in enumerate("abcd"):
        cache.put(key, i)
    assert len(cache) == 3 and cache.get("a") is None  # the least recently used went first
    assert cache.get("b") == 1
    now[0] = 10.0
    assert cache.get("b") is None and cache.get("c") is None
