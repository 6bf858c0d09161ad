"""Quote fan-out encoded once for every subscriber (issue 13): the bytes are the API's own
StreamQuotesResponse, the newest quote of every contract reaches every subscriber, each
stream's sequence has no gaps, and a stalled subscriber holds at most one quote per contract.

The servicer's StreamQuotes runs here without gRPC (the generator, against the FakeGateway);
bytes it yields are decoded with the generated message class, as a client would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ibkr_broker.server.api import proto_convert as cv
from ibkr_broker.server.api import quote_wire
from ibkr_broker.server.api.servicer import BrokerServicer
from ibkr_broker.server.domain.model import Contract, Quote
from ibkr_broker.server.session import ib_port as g
from ibkr_broker.server.session.broker_session import BrokerSession
from ibkr_broker.server.session.fan_out import IdleWaiter, Signal, wait_any
from ibkr_broker.server.session.market_data import Subscriber
from ibkr_broker.server.session.store import Store
from ibkr_broker.server.trading.trader import Trader
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import contract_pb2, market_data_pb2

from tests.waiting import wait_until

from .fake_gateway import AAPL, FAST, MSFT, FakeGateway

pytestmark = pytest.mark.timeout(30)


def quote(con_id: int, bid: str, **kw: Any) -> Quote:
    return Quote(con_id=con_id, symbol=f"S{con_id}", bid=Decimal(bid), **kw)


@pytest.mark.parametrize("sequence", [1, 127, 128, 300, 2**40])
@pytest.mark.parametrize("count", [0, 1, 3, 40])
@pytest.mark.parametrize("coalesced", [0, 1, 129])
def test_encoded_bytes_are_the_api_message(sequence: int, count: int, coalesced: int) -> None:
    quotes = [
        quote(
            265598 + i,
            f"{100 + i}.25",
            ask=Decimal("1e3") + i,
            last_trade_time=datetime(2026, 11, 30, 15, 30, tzinfo=UTC),
            update_time=datetime(2026, 11, 30, 15, 30, 1, 250000, tzinfo=UTC),
        )
        for i in range(count)
    ]
    fields = quote_wire.QuoteFields()
    data = quote_wire.quotes_response(sequence, [fields.get(q) for q in quotes], coalesced)
    expected = pb.StreamQuotesResponse(
        sequence=sequence,
        quotes=market_data_pb2.QuoteBatch(
            quotes=[cv.quote_to_proto(q) for q in quotes], coalesced_updates=coalesced
        ),
    )
    decoded = pb.StreamQuotesResponse.FromString(data)
    assert decoded == expected
    assert decoded.WhichOneof("payload") == "quotes"
    assert data == expected.SerializeToString()
    assert quote_wire.serialize(data) is data
    assert quote_wire.serialize(expected) == data


def test_each_version_of_a_quote_is_encoded_once() -> None:
    fields = quote_wire.QuoteFields()
    first = quote(1, "10")
    assert all(fields.get(first) is fields.get(first) for _ in range(100))
    assert fields.encoded == 1
    fields.get(quote(1, "10"))  # a new version (another object) of the same contract
    assert fields.encoded == 2


class Reader:
    """One StreamQuotes stream as a client sees it (bytes decoded like the gRPC stub would)."""

    def __init__(self, servicer: BrokerServicer, contracts: list[Contract]) -> None:
        request = pb.StreamQuotesRequest(
            contracts=[contract_pb2.Contract(con_id=c.con_id) for c in contracts]
        )
        self.stream: AsyncIterator[Any] = servicer.StreamQuotes(request, None)
        self.sequences: list[int] = []
        self.latest: dict[int, market_data_pb2.Quote] = {}
        self.quotes_seen = 0
        self.coalesced = 0

    async def next(self) -> pb.StreamQuotesResponse:
        item = await anext(self.stream)
        msg = pb.StreamQuotesResponse.FromString(item) if isinstance(item, bytes) else item
        self.sequences.append(msg.sequence)
        if msg.HasField("quotes"):
            self.coalesced += msg.quotes.coalesced_updates
            for q in msg.quotes.quotes:
                self.quotes_seen += 1
                assert q.con_id not in {p.con_id for p in msg.quotes.quotes if p is not q}
                self.latest[q.con_id] = q
        return msg

    async def run(self) -> None:
        while True:
            await self.next()


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[tuple[BrokerSession, BrokerServicer, FakeGateway]]:
    gw = FakeGateway()
    gw.contracts = [AAPL, MSFT, Contract(con_id=3, symbol="THREE")]
    session = BrokerSession(gw, FAST, Store(tmp_path / "s.db"))
    await session.start()
    await session.wait_ready(2)
    session.market_data.fan_out.step = 2  # several steps per turn even with a few streams
    servicer = BrokerServicer(session, Trader(session), 30.0)
    yield session, servicer, gw
    await session.stop()


def line_of(gw: FakeGateway, con_id: int) -> int:
    return next(req_id for req_id, c, snap in gw.args("req_mkt_data") if c.con_id == con_id)


async def test_newest_quote_reaches_every_subscriber_and_sequences_have_no_gaps(
    env: tuple[BrokerSession, BrokerServicer, FakeGateway],
) -> None:
    session, servicer, gw = env
    sets = [[AAPL, MSFT], [AAPL], [MSFT], [AAPL, MSFT]] * 3
    readers = [Reader(servicer, contracts) for contracts in sets]
    for reader in readers:
        await reader.next()  # the first status: subscribed
    tasks = [asyncio.ensure_future(r.run()) for r in readers]
    hub = session.market_data
    await wait_until(lambda: hub.subscriber_count == len(readers))
    lines = {c.con_id: line_of(gw, c.con_id) for c in (AAPL, MSFT)}
    final = {}
    for step in range(400):
        con_id = (AAPL.con_id, MSFT.con_id)[step % 2]
        final[con_id] = Decimal(100) + step
        gw.emit(g.TickPriceEvent(lines[con_id], 1, final[con_id]))
        if step % 25 == 0:
            await wait_until(lambda: all(r.quotes_seen for r in readers[:1]))
    try:
        for reader, contracts in zip(readers, sets, strict=True):
            await wait_until(
                lambda r=reader, cs=contracts: all(  # type: ignore[misc]
                    c.con_id in r.latest and Decimal(r.latest[c.con_id].bid) == final[c.con_id]
                    for c in cs
                ),
                10,
                "every subscriber has the newest quote of each of its contracts",
            )
            assert reader.sequences == list(range(1, len(reader.sequences) + 1))
            assert set(reader.latest) == {c.con_id for c in contracts}
        assert servicer.quote_fields.encoded <= 400  # once per version, not per subscriber
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for reader in readers:
            await reader.stream.aclose()  # type: ignore[attr-defined]


async def test_a_stalled_subscriber_holds_one_quote_per_contract_and_gets_the_newest(
    env: tuple[BrokerSession, BrokerServicer, FakeGateway],
) -> None:
    session, servicer, gw = env
    stalled = Reader(servicer, [AAPL, MSFT])
    await stalled.next()
    await stalled.next()  # both statuses read; from here on it reads nothing
    hub = session.market_data
    (mailbox,) = {s for sub in hub.subscriptions for s in sub.subscribers}
    assert isinstance(mailbox, Subscriber)
    lines = {c.con_id: line_of(gw, c.con_id) for c in (AAPL, MSFT)}
    for step in range(1000):
        con_id = (AAPL.con_id, MSFT.con_id)[step % 2]
        gw.emit(g.TickPriceEvent(lines[con_id], 1, Decimal(step + 1)))
    await wait_until(lambda: mailbox.coalesced == 998, 5, "every tick reached the mailbox")
    assert set(mailbox.dirty) == {AAPL.con_id, MSFT.con_id}  # one entry per contract, no more
    assert len(gw.args("req_mkt_data")) == 2
    try:
        msg = await stalled.next()  # it reads again: one quote per contract, the newest
        assert msg.HasField("quotes") and msg.quotes.coalesced_updates == 998
        assert {q.con_id: Decimal(q.bid) for q in msg.quotes.quotes} == {
            AAPL.con_id: Decimal(999),
            MSFT.con_id: Decimal(1000),
        }
        assert stalled.sequences == [1, 2, 3]
    finally:
        await stalled.stream.aclose()  # type: ignore[attr-defined]


async def test_a_turn_wakes_every_stream_with_news_in_bounded_steps(
    env: tuple[BrokerSession, BrokerServicer, FakeGateway],
) -> None:
    session, _servicer, gw = env
    hub = session.market_data
    hub.fan_out.step = 3
    mailboxes = [Subscriber() for _ in range(10)]
    for mailbox in mailboxes:
        await hub.subscribe(mailbox, [AAPL])
        mailbox.take()  # the status
    quiet = Subscriber()
    await hub.subscribe(quiet, [MSFT])
    quiet.take()
    woken: list[int] = []
    for mailbox in mailboxes:
        asyncio.get_running_loop().create_task(mailbox.wake.wait()).add_done_callback(
            lambda _t, m=mailbox: woken.append(m.id)
        )
    gw.emit(g.TickPriceEvent(line_of(gw, AAPL.con_id), 1, Decimal("101.5")))
    await wait_until(lambda: len(woken) == 10, what="every stream with news woken")
    assert sorted(woken) == sorted(m.id for m in mailboxes)
    assert not quiet.wake.is_set() and not quiet.dirty  # no news for MSFT
    assert all(m.take()[1] == [hub.latest(AAPL.con_id)] for m in mailboxes)


async def test_a_stream_waits_for_news_a_drain_or_its_heartbeat() -> None:
    news, drain = Signal(), Signal()
    assert not await wait_any((news, drain), 0.01)  # nothing: the heartbeat is due
    waiting = asyncio.ensure_future(wait_any((news, drain), 30))
    asyncio.get_running_loop().call_soon(drain.set)
    assert await asyncio.wait_for(waiting, 5)
    news.set()
    assert await wait_any((news,), 30)  # already set: at once
    news.clear()
    assert not news.is_set() and not await wait_any((news,), 0.01)


async def test_an_idle_waiter_gives_a_heartbeat_only_after_idle_time_without_news() -> None:
    """IdleWaiter: True for news or a drain; False once `idle` passed since the last wait
    returned; a stream that keeps getting news never sees False meanwhile."""
    loop = asyncio.get_running_loop()
    news, drain = Signal(), Signal()
    waiter = IdleWaiter((news, drain), idle=0.05)
    try:
        started = loop.time()
        assert not await asyncio.wait_for(waiter.wait(), 5)  # no news: the heartbeat
        assert loop.time() - started >= 0.05
        results, busy_from = [], loop.time()
        while loop.time() - busy_from < 0.2:  # news at every wait for 4 idle periods
            loop.call_soon(news.set)
            results.append(await asyncio.wait_for(waiter.wait(), 5))
            news.clear()
        assert all(results)
        quiet_from = loop.time()
        assert not await asyncio.wait_for(waiter.wait(), 5)  # news stopped: a heartbeat
        assert loop.time() - quiet_from >= 0.05
        loop.call_soon(drain.set)
        assert await asyncio.wait_for(waiter.wait(), 5)
    finally:
        waiter.close()
