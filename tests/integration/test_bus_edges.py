"""One gateway, two edges and NATS JetStream, over real sockets on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import common_pb2, order_pb2

from tests.waiting import wait_until

from .bus_env import Client, NatsServer, edge_process, start_edge, start_gateway
from .server_env import AAPL, BUY, MSFT, limit, market, new_simulator, place

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    sim = new_simulator(seed=7, tick_interval=0.05)
    await sim.start()
    async with NatsServer(tmp_path) as nats_server:
        gateway = await start_gateway(tmp_path / "gw", sim.port, nats_server.url)
        edges = [await start_edge(tmp_path / f"edge{i}", nats_server.url) for i in (1, 2)]
        clients = [Client(e.port) for e in edges]
        await wait_until(
            lambda: all(e.backend.gateways for e in edges), 10, "edges see the gateway"
        )
        try:
            yield {"sim": sim, "nats": nats_server, "gateway": gateway, "edges": edges,
                   "clients": clients}  # fmt: skip
        finally:
            for c in clients:
                await c.close()
            for e in edges:
                await e.stop()
            await gateway.stop()
    await sim.stop()


async def test_an_order_through_an_edge_and_its_events_through_both(bus: dict[str, Any]) -> None:
    one, two = bus["clients"]
    status = await one.stub.GetStatus(pb.GetStatusRequest(), timeout=10)
    assert status.connection_state == common_pb2.CONNECTION_STATE_READY
    assert list(status.accounts) == ["DU1234567"]
    streams = [c.stub.StreamOrderEvents(pb.StreamOrderEventsRequest()) for c in (one, two)]
    starts = [await s.read() for s in streams]
    assert all(s.HasField("status") for s in starts)
    placed = await one.stub.PlaceOrder(place(AAPL, market(BUY, "3")), timeout=15)
    order_id = placed.order.order_id
    assert order_id
    for stream in streams:
        seen: list[Any] = []
        while not any(
            m.event.order.order_id == order_id
            and m.event.order.status == order_pb2.ORDER_STATUS_FILLED
            for m in seen
        ):
            message = await asyncio.wait_for(stream.read(), 10)
            if message.HasField("event"):
                seen.append(message)
        sequences = [m.sequence for m in seen]
        assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
        stream.cancel()
    got = await two.stub.GetOrder(pb.GetOrderRequest(order_id=order_id), timeout=10)
    assert got.order.order_id == order_id
    assert len(bus["sim"].exchange.orders()) == 1


async def test_quotes_through_both_edges(bus: dict[str, Any]) -> None:
    streams = [
        c.stub.StreamQuotes(pb.StreamQuotesRequest(contracts=[AAPL, MSFT])) for c in bus["clients"]
    ]
    for stream in streams:
        priced: set[int] = set()  # contracts seen with a price (a first update may have none)
        while len(priced) < 2:
            message = await asyncio.wait_for(stream.read(), 10)
            priced |= {q.con_id for q in message.quotes.quotes if q.bid or q.last}
        stream.cancel()


async def test_gateway_errors_pass_through_the_edge_with_their_details(
    bus: dict[str, Any],
) -> None:
    one, _ = bus["clients"]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await one.stub.PlaceOrder(place(AAPL, limit(BUY, "-1", "10")), timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "quantity" in (err.value.details() or "")
    assert not list(bus["sim"].exchange.orders())


async def test_a_client_resumes_on_the_other_edge_with_no_gap(bus: dict[str, Any]) -> None:
    one, two = bus["clients"]
    stream = one.stub.StreamOrderEvents(pb.StreamOrderEventsRequest())
    first = await stream.read()
    seen: list[int] = []

    async def read_events(call: Any, until: int) -> None:
        while len(seen) < until:
            message = await asyncio.wait_for(call.read(), 10)
            if message.HasField("event"):
                assert not seen or message.sequence == seen[-1] + 1, (seen, message.sequence)
                seen.append(message.sequence)

    for _ in range(2):
        await one.stub.PlaceOrder(place(AAPL, limit(BUY, "1", "1.00")), timeout=15)
    await read_events(stream, 2)
    assert seen[0] == first.sequence + 1
    await bus["edges"][0].stop()  # the edge goes away mid-stream: the stream ends
    with contextlib.suppress(grpc.aio.AioRpcError):
        while await asyncio.wait_for(stream.read(), 10) is not grpc.aio.EOF:
            pass
    for _ in range(2):  # events the first client never saw on its dead edge
        await two.stub.PlaceOrder(place(MSFT, limit(BUY, "1", "1.00")), timeout=15)
    resumed = two.stub.StreamOrderEvents(
        pb.StreamOrderEventsRequest(resume_after_sequence=seen[-1])
    )
    head = await resumed.read()
    assert head.sequence == seen[-1]
    await read_events(resumed, 4)
    resumed.cancel()
    assert seen == list(range(seen[0], seen[0] + 4))
    ahead = two.stub.StreamOrderEvents(
        pb.StreamOrderEventsRequest(resume_after_sequence=seen[-1] + 1000)
    )
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await ahead.read()
    assert err.value.code() == grpc.StatusCode.OUT_OF_RANGE


async def test_a_client_resumes_after_its_edge_process_is_killed(bus: dict[str, Any]) -> None:
    edge_dir = Path(bus["gateway"].config.server.data_dir).parent / "killed-edge"
    process, port = await edge_process(edge_dir, bus["nats"].url)
    doomed = Client(port)
    try:
        stream = doomed.stub.StreamOrderEvents(pb.StreamOrderEventsRequest())
        start = (await asyncio.wait_for(stream.read(), 20)).sequence
        placed = [
            (
                await doomed.stub.PlaceOrder(place(AAPL, limit(BUY, "1", "1.00")), timeout=15)
            ).order.order_id
        ]
        seen: list[int] = []
        while not seen:
            message = await asyncio.wait_for(stream.read(), 10)
            if message.HasField("event"):
                seen.append(message.sequence)
        process.send_signal(signal.SIGKILL)  # mid-stream, no drain
        with pytest.raises(grpc.aio.AioRpcError):
            while await asyncio.wait_for(stream.read(), 10) is not grpc.aio.EOF:
                pass
        _, survivor = bus["clients"]
        placed.append(
            (
                await survivor.stub.PlaceOrder(place(MSFT, limit(BUY, "1", "1.00")), timeout=15)
            ).order.order_id
        )
        resumed = survivor.stub.StreamOrderEvents(
            pb.StreamOrderEventsRequest(resume_after_sequence=seen[-1])
        )
        await resumed.read()
        orders_seen: set[str] = set()
        while set(placed) - orders_seen:
            message = await asyncio.wait_for(resumed.read(), 10)
            if message.HasField("event"):
                assert message.sequence == seen[-1] + 1, (seen, message.sequence)
                seen.append(message.sequence)
                orders_seen.add(message.event.order.order_id)
        resumed.cancel()
        assert seen[0] == start + 1
    finally:
        await doomed.close()
        if process.poll() is None:
            process.kill()
        await asyncio.to_thread(process.wait, 10)


async def test_two_gateways_for_two_accounts_behind_one_edge(tmp_path: Path) -> None:
    sims = [
        new_simulator(seed=s, tick_interval=0.05, account=a)
        for s, a in ((3, "DU1111111"), (4, "DU2222222"))
    ]
    for sim in sims:
        await sim.start()
    async with NatsServer(tmp_path) as nats_server:
        gateways = [
            await start_gateway(tmp_path / f"gw{i}", sim.port, nats_server.url)
            for i, sim in enumerate(sims)
        ]
        edge = await start_edge(tmp_path / "edge", nats_server.url)
        client = Client(edge.port)
        try:
            await wait_until(lambda: len(edge.backend.live()) == 2, 10, "edge sees both")
            status = await client.stub.GetStatus(pb.GetStatusRequest(), timeout=10)
            assert sorted(status.accounts) == ["DU1111111", "DU2222222"]
            assert status.connection_state == common_pb2.CONNECTION_STATE_READY
            listed = sorted(status.gateways, key=lambda g: list(g.accounts))
            assert [list(g.accounts) for g in listed] == [["DU1111111"], ["DU2222222"]]
            for entry, sim in zip(listed, sims, strict=True):
                assert entry.connection_state == common_pb2.CONNECTION_STATE_READY
                assert (entry.tws_host, entry.tws_port) == ("127.0.0.1", sim.port)
                assert entry.server_version > 0 and entry.trading_enabled
                assert entry.server_software_version and entry.HasField("connect_time")
            events = client.stub.StreamOrderEvents(pb.StreamOrderEventsRequest())
            await events.read()
            placed = {}
            for account in ("DU1111111", "DU2222222"):
                spec = limit(BUY, "2", "1.00", account=account)
                reply = await client.stub.PlaceOrder(place(AAPL, spec), timeout=15)
                assert reply.order.account == account
                placed[account] = reply.order.order_id
            for sim, account in zip(sims, ("DU1111111", "DU2222222"), strict=True):
                assert [o.account for o in sim.exchange.orders()] == [account]
            with pytest.raises(grpc.aio.AioRpcError) as err:  # whose order? say the account
                await client.stub.PlaceOrder(place(AAPL, limit(BUY, "2", "1.00")), timeout=15)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "account" in (err.value.details() or "")
            listed = await client.stub.ListOrders(
                pb.ListOrdersRequest(account="DU2222222"), timeout=10
            )
            assert [o.account for o in listed.orders] == ["DU2222222"]
            assert placed["DU1111111"] == placed["DU2222222"]  # each login numbers its own
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await client.stub.CancelOrder(
                    pb.CancelOrderRequest(request_id="cx-0", order_id=placed["DU2222222"]),
                    timeout=15,
                )
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "ibkr-account" in (err.value.details() or "")
            cancelled = await client.stub.CancelOrder(
                pb.CancelOrderRequest(request_id="cx-1", order_id=placed["DU2222222"]),
                timeout=15,
                metadata=(("ibkr-account", "DU2222222"),),
            )
            assert cancelled.order.account == "DU2222222"
            accounts_seen: set[str] = set()
            while accounts_seen != {"DU1111111", "DU2222222"}:
                message = await asyncio.wait_for(events.read(), 10)
                if message.HasField("event"):
                    accounts_seen.add(message.event.order.account)
            events.cancel()
            pnl = client.stub.StreamPnL(pb.StreamPnLRequest())  # relayed from both gateways
            pnl_accounts: set[str] = set()
            while pnl_accounts != {"DU1111111", "DU2222222"}:
                message = await asyncio.wait_for(pnl.read(), 15)
                if message.HasField("pnl"):
                    pnl_accounts.add(message.pnl.account_id)
            pnl.cancel()
            await gateways[1].stop()  # still announced for a few seconds, but gone
            status = await client.stub.GetStatus(pb.GetStatusRequest(), timeout=10)
            states = {g.accounts[0]: g.connection_state for g in status.gateways}
            assert states == {"DU1111111": common_pb2.CONNECTION_STATE_READY,
                              "DU2222222": common_pb2.CONNECTION_STATE_DISCONNECTED}  # fmt: skip
            assert status.connection_state == common_pb2.CONNECTION_STATE_DISCONNECTED
            assert "DU2222222: its gateway did not answer" in status.trading_disabled_reason
        finally:
            await client.close()
            await edge.stop()
            for gateway in gateways:
                await gateway.stop()
    for sim in sims:
        await sim.stop()


async def test_account_updates_are_published_per_account(bus: dict[str, Any]) -> None:
    import nats
    from ibkr_broker.v1 import account_pb2

    received: list[Any] = []
    nc = await nats.connect(bus["nats"].url)
    try:

        async def on_position(msg: Any) -> None:
            received.append(account_pb2.Position.FromString(msg.data))

        await nc.subscribe("ibkr.account.DU1234567.positions", cb=on_position)
        one, _ = bus["clients"]
        await one.stub.PlaceOrder(place(AAPL, market(BUY, "4")), timeout=15)
        await wait_until(
            lambda: any(p.contract.symbol == "AAPL" and p.quantity == "4" for p in received),
            15,
            "the AAPL position on the bus",
        )
        assert all(p.account_id == "DU1234567" for p in received)
    finally:
        await nc.close()
