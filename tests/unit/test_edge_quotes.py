"""The edge's quote fan-out without NATS: quotes from the bus are kept encoded once, handed to
the readers in turns, newest only per contract, and a reader's message is exactly the
StreamQuotesResponse a serializer would have written."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from ibkr_broker.server.api import quote_wire
from ibkr_broker.server.bus.edge_backend import EdgeBackend, QuoteReader
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import market_data_pb2

from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(30)

AAPL, MSFT = 265598, 272093


@dataclass
class BusMessage:
    subject: str
    data: bytes


def quote(con_id: int, bid: str, seconds: int = 1) -> market_data_pb2.Quote:
    return market_data_pb2.Quote(
        con_id=con_id, symbol=str(con_id), bid=bid, update_time=Timestamp(seconds=seconds)
    )


def backend_with(readers: dict[int, set[QuoteReader]]) -> EdgeBackend:
    backend = EdgeBackend("nats://127.0.0.1:4222")  # never connected: no NATS in a unit test
    backend._readers = readers
    return backend


async def publish(backend: EdgeBackend, q: market_data_pb2.Quote) -> None:
    await backend._on_quote(BusMessage(f"ibkr.quotes.GW.{q.con_id}", q.SerializeToString()))


def decoded(reader: QuoteReader, sequence: int) -> pb.StreamQuotesResponse:
    fields, coalesced = reader.take()
    return pb.StreamQuotesResponse.FromString(
        quote_wire.quotes_response(sequence, fields, coalesced)
    )


async def test_a_stalled_reader_holds_the_newest_quote_of_each_contract_once() -> None:
    reader = QuoteReader(frozenset({AAPL, MSFT}))
    backend = backend_with({AAPL: {reader}, MSFT: {reader}})
    for i in range(50):  # the reader never reads meanwhile
        await publish(backend, quote(AAPL, f"100.{i:02d}", seconds=i + 1))
        await publish(backend, quote(MSFT, f"300.{i:02d}", seconds=i + 1))
        await wait_until(lambda n=i: backend.fan_out.turns > n, timeout=5)
    assert set(reader.dirty) == {AAPL, MSFT}  # one entry per contract, however many came
    message = decoded(reader, sequence=7)
    assert message.sequence == 7
    newest = {q.con_id: q.bid for q in message.quotes.quotes}
    assert newest == {AAPL: "100.49", MSFT: "300.49"}
    assert message.quotes.coalesced_updates == 98  # 49 replaced of each contract
    assert not reader.dirty and not reader.wake.is_set()


async def test_readers_are_woken_in_turns_with_bytes_a_serializer_would_write() -> None:
    readers = [QuoteReader(frozenset({AAPL})) for _ in range(5)]
    backend = backend_with({AAPL: set(readers)})
    backend.fan_out.step = 2  # several wake steps in one turn
    q = quote(AAPL, "101.5")
    await publish(backend, q)
    await wait_until(lambda: all(r.wake.is_set() for r in readers), timeout=5)
    assert backend.fan_out.turns == 1
    expected = pb.StreamQuotesResponse(sequence=3, quotes=market_data_pb2.QuoteBatch(quotes=[q]))
    for reader in readers:
        fields, coalesced = reader.take()
        assert quote_wire.quotes_response(3, fields, coalesced) == expected.SerializeToString()


async def test_bytes_that_do_not_decode_are_dropped_not_relayed() -> None:
    reader = QuoteReader(frozenset({AAPL}))
    backend = backend_with({AAPL: {reader}})
    await backend._on_quote(BusMessage(f"ibkr.quotes.GW.{AAPL}", b"\xff\xff\xff"))
    await publish(backend, quote(AAPL, "99"))
    await wait_until(lambda: reader.wake.is_set(), timeout=5)
    assert [q.bid for q in decoded(reader, 1).quotes.quotes] == ["99"]
    assert backend.fan_out.turns == 1  # the bytes that did not decode made no turn
