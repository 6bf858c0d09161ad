"""AsyncBrokerClient (grpc.aio): the same guarantees as the blocking client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from ibkr_broker.client import (
    AsyncBrokerClient,
    ContractNotFoundError,
    OrderRejectedError,
    StreamReconnected,
    UnavailableError,
    order_spec,
    stock,
)
from ibkr_broker.v1 import order_pb2

from tests.unit.client_fake import (
    Failure,
    FakeServer,
    order_event,
    quote,
    quote_batch,
)

pytestmark = pytest.mark.timeout(20)
C = grpc.StatusCode


@pytest.fixture
async def client(server: FakeServer) -> AsyncIterator[AsyncBrokerClient]:
    async with AsyncBrokerClient(config=server.config()) as c:
        yield c


async def test_place_order_retry_reuses_the_request_id(
    server: FakeServer, client: AsyncBrokerClient
) -> None:
    server.broker.fail("PlaceOrder", Failure(C.UNAVAILABLE, "TWS connection lost", "NOT_CONNECTED"))
    response = await client.place_order(stock("AAPL"), order_spec("buy", 10))
    ids = [c.request.request_id for c in server.broker.calls_of("PlaceOrder")]
    assert len(ids) == 2 and ids[0] == ids[1] == response.order.request_id
    assert server.broker.placed == 1


async def test_errors_are_mapped_with_ib_code(
    server: FakeServer, client: AsyncBrokerClient
) -> None:
    server.broker.fail(
        "PlaceOrder", Failure(C.FAILED_PRECONDITION, "rejected", "ORDER_REJECTED", ib_code=201)
    )
    with pytest.raises(OrderRejectedError) as caught:
        await client.place_order(stock("AAPL"), order_spec("buy", 1), request_id="k-1")
    assert caught.value.ib_code == 201 and caught.value.request_id == "k-1"
    with pytest.raises(ContractNotFoundError):
        await client.quote("NOPE")


async def test_every_unary_method(server: FakeServer, client: AsyncBrokerClient) -> None:
    assert (await client.status()).paper_trading
    assert (await client.resolve_contract("AAPL"))[0].long_name == "APPLE INC"
    assert len((await client.option_chain("AAPL")).chains) == 2
    placed = await client.place_order("AAPL", order_spec("buy", 2, "limit", limit_price=1))
    order_id = placed.order.order_id
    assert (await client.modify_order(order_id, quantity=3)).spec.quantity == "3"
    assert (await client.get_order(order_id)).order_id == order_id
    assert [o.order_id for o in await client.list_orders("open")] == [order_id]
    assert await client.cancel_all_orders() == [order_id]
    assert (await client.cancel_order(order_id)).status == order_pb2.ORDER_STATUS_CANCELLED
    assert (await client.account())[0].account_id == "DU1234567"
    assert len(await client.positions()) == 2
    assert (await client.quote("AAPL")).ask == "190.01"
    mutating = ("PlaceOrder", "ModifyOrder", "CancelAllOrders", "CancelOrder")
    ids = {c.request.request_id for c in server.broker.calls if c.method in mutating}
    assert len(ids) == 4 and "" not in ids  # one fresh id per mutating call


async def test_order_events_resume_without_loss_or_duplicates(
    server: FakeServer, client: AsyncBrokerClient
) -> None:
    server.broker.events = [order_event(f"o{i}", order_pb2.ORDER_STATUS_FILLED) for i in range(4)]
    server.broker.event_drops = [3, None]
    server.broker.replay_overlap = 2
    items = [item async for item in client.order_events()]
    assert isinstance(items[3], StreamReconnected)
    assert items[3].resume_after_sequence == 3
    assert [i.sequence for i in items if not isinstance(i, StreamReconnected)] == [1, 2, 3, 4]
    resumes = [c.request.resume_after_sequence for c in server.broker.calls_of("StreamOrderEvents")]
    assert resumes == [0, 3]


async def test_stream_gives_up_after_stream_retries(
    server: FakeServer, client: AsyncBrokerClient
) -> None:
    server.broker.quote_messages = [quote_batch(1, quote("AAPL", "1", "2", "1"))]
    server.broker.quote_drops = [0] * 10
    with pytest.raises(UnavailableError):
        async for _ in client.stream_quotes(["AAPL"]):
            pass
    assert len(server.broker.calls_of("StreamQuotes")) == 1 + client.config.stream_retries


async def test_cancel_ends_a_waiting_stream(server: FakeServer, client: AsyncBrokerClient) -> None:
    server.broker.quote_messages = [quote_batch(1, quote("AAPL", "1", "2", "1"))]
    server.broker.hold_streams_open = True
    stream = client.stream_quotes(["AAPL"])
    assert (await stream.__anext__()).sequence == 1  # type: ignore[union-attr]
    asyncio.get_running_loop().call_soon(stream.cancel)
    assert [item async for item in stream] == []


async def test_aclose_via_context_manager(server: FakeServer, client: AsyncBrokerClient) -> None:
    server.broker.quote_messages = [quote_batch(1, quote("AAPL", "1", "2", "1"))]
    server.broker.hold_streams_open = True
    async with client.stream_quotes(["AAPL"]) as stream:
        async for item in stream:
            assert not isinstance(item, StreamReconnected)
            break
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()


async def test_closing_the_client_ends_its_open_streams(server: FakeServer) -> None:
    server.broker.quote_messages = [quote_batch(1, quote("AAPL", "1", "2", "1"))]
    server.broker.hold_streams_open = True
    client = AsyncBrokerClient(config=server.config())
    stream = client.stream_quotes(["AAPL"])
    assert (await stream.__anext__()).sequence == 1  # type: ignore[union-attr]
    await client.close()
    assert [item async for item in stream] == []
