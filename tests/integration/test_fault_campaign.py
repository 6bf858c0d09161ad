"""Twenty TWS drops and restarts while quote streams run and orders flow with retried request
ids (issue 10, "Done when"), against the real server and simulator.

Asserted: no order lost (every logical order ends placed exactly once, or provably not placed
and placed again under a new key), none duplicated (one simulator order per key, IB order ids
never reused), every order's final state on the event stream, commissions on the stream
summing exactly to the simulator's, and the quote stream resuming after each return of TWS.
The resume times are measured and printed, not asserted (generous deadlines only).
"""

from __future__ import annotations

import asyncio
import bisect
import statistics
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest
from ibkr_broker.server.domain.model import ConnectionState
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import order_pb2

from tests.waiting import wait_until

from .server_env import AAPL, BUY, MSFT, SELL, SPY, ServerEnv, limit, market, place

# Runs in both protocol eras (tests/conftest.py --tws-era).
pytestmark = [pytest.mark.timeout(300), pytest.mark.usefixtures("tws_era")]

FAULTS = 20
RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
TERMINAL = {
    order_pb2.ORDER_STATUS_FILLED,
    order_pb2.ORDER_STATUS_CANCELLED,
    order_pb2.ORDER_STATUS_REJECTED,
}


@dataclass
class Flow:
    """What the order clients did: per logical order, the keys tried and the order placed."""

    keys: dict[str, list[str]] = field(default_factory=dict)
    placed: dict[str, str] = field(default_factory=dict)  # logical order -> order_id
    not_placed: list[str] = field(default_factory=list)  # keys the server said were not placed
    retries: int = 0


async def call_until_answered(env: ServerEnv, flow: Flow, rpc: Any, request: Any) -> Any:
    """Send until the server answers for sure: a retryable failure is retried with the same
    request_id once the session is ready again (a deadline-bound wait, not a sleep)."""
    assert env.app is not None
    session = env.app.session
    for _ in range(100):
        try:
            return await rpc(request, timeout=8)
        except grpc.aio.AioRpcError as err:
            if err.code() not in RETRYABLE:
                raise
            flow.retries += 1
            await wait_until(lambda: session.ready, 30, "TWS back for a retry")
    raise AssertionError(f"no answer for {request.request_id}")


async def place_logical(
    env: ServerEnv, flow: Flow, watch: Watch, name: str, spec: Any, contract: Any
) -> None:
    """One logical order, as a careful client places it: retried under its key until the
    server answers, then followed on the event stream to its end; placed again under a new
    key only when the server says the first one was not placed."""
    for attempt in range(1, FAULTS + 5):  # an order in flight at every fault is never placed
        key = f"{name}#{attempt}"
        flow.keys.setdefault(name, []).append(key)
        request = place(contract, spec, request_id=key)
        try:
            placed = await call_until_answered(env, flow, env.stub.PlaceOrder, request)
        except grpc.aio.AioRpcError as err:  # the retry learnt that it was not sent
            assert err.code() == grpc.StatusCode.FAILED_PRECONDITION, err
            assert "not placed" in (err.details() or ""), err.details()
            flow.not_placed.append(key)
            continue
        order_id = placed.order.order_id
        await wait_until(lambda o=order_id: watch.statuses.get(o) in TERMINAL, 60, f"{key} ends")
        got = await env.stub.GetOrder(pb.GetOrderRequest(order_id=order_id), timeout=10)
        if got.order.status == order_pb2.ORDER_STATUS_REJECTED:
            assert "not placed" in got.order.last_error.message, got.order.last_error
            flow.not_placed.append(key)
            continue
        flow.placed[name] = order_id
        return
    raise AssertionError(f"{name} was never placed")


async def order_flow(
    env: ServerEnv, flow: Flow, watch: Watch, client: int, stop: asyncio.Event
) -> None:
    contracts = (AAPL, MSFT, SPY)
    n = 0
    while not stop.is_set():
        n += 1
        spec = market(BUY if n % 2 else SELL, "1")
        await place_logical(env, flow, watch, f"c{client}-{n}", spec, contracts[(client + n) % 3])


@dataclass
class Watch:
    """The order-event stream and a quote stream, read from the start to the end."""

    statuses: dict[str, int] = field(default_factory=dict)  # order_id -> last status seen
    commissions: dict[str, list[Decimal]] = field(default_factory=dict)  # execution_id -> ...
    quote_times: list[float] = field(default_factory=list)
    left_terminal: list[tuple[str, int, int]] = field(default_factory=list)
    late_streams_quoting: set[int] = field(default_factory=set)  # streams opened mid-fault
    errors: list[BaseException] = field(default_factory=list)

    async def read_events(self, env: ServerEnv) -> None:
        try:
            async for msg in env.stub.StreamOrderEvents(pb.StreamOrderEventsRequest()):
                if not msg.HasField("event"):
                    continue
                event = msg.event
                before = self.statuses.get(event.order.order_id)
                if before in TERMINAL and event.order.status != before:
                    self.left_terminal.append((event.order.order_id, before, event.order.status))
                self.statuses[event.order.order_id] = event.order.status
                if event.type == order_pb2.ORDER_EVENT_TYPE_COMMISSION:
                    amounts = self.commissions.setdefault(event.execution.execution_id, [])
                    amounts.append(Decimal(event.execution.commission))
        except grpc.aio.AioRpcError as err:
            if err.code() != grpc.StatusCode.CANCELLED:
                self.errors.append(err)

    async def read_quotes(self, env: ServerEnv) -> None:
        request = pb.StreamQuotesRequest(contracts=[AAPL, MSFT])
        try:
            async for msg in env.stub.StreamQuotes(request):
                if msg.HasField("quotes"):
                    self.quote_times.append(time.monotonic())
        except grpc.aio.AioRpcError as err:
            if err.code() != grpc.StatusCode.CANCELLED:
                self.errors.append(err)

    async def open_late_stream(self, env: ServerEnv, n: int) -> None:
        """A stream opened as TWS goes away: refused (UNAVAILABLE, before its first message)
        while TWS is away and retried then, as a client does; once open it must quote."""
        assert env.app is not None
        session = env.app.session
        request = pb.StreamQuotesRequest(contracts=[SPY])
        try:
            for _ in range(50):
                call = env.stub.StreamQuotes(request)
                started = False
                try:
                    async for msg in call:
                        started = True
                        if msg.HasField("quotes"):
                            self.late_streams_quoting.add(n)
                except grpc.aio.AioRpcError as err:
                    if err.code() != grpc.StatusCode.UNAVAILABLE or started:
                        raise
                    await wait_until(lambda: session.ready, 30, "TWS back for the stream")
        except grpc.aio.AioRpcError as err:
            if err.code() != grpc.StatusCode.CANCELLED:
                self.errors.append(err)

    def quote_after(self, moment: float) -> float | None:
        """When the first quote after `moment` arrived (the times only grow)."""
        i = bisect.bisect_right(self.quote_times, moment)
        return self.quote_times[i] if i < len(self.quote_times) else None


async def fault(env: ServerEnv, n: int) -> float:
    """Drop every connection (even n) or restart TWS for half a second (odd n); returns the
    moment TWS accepts connections again."""
    if n % 2 == 0:
        env.sim.drop_all()
        return time.monotonic()
    await env.sim.go_away(0.5)
    await asyncio.wait_for(env.sim.listening.wait(), 10)
    return time.monotonic()


async def test_twenty_tws_drops_and_restarts_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    async with ServerEnv(tmp_path) as env:
        assert env.app is not None
        session = env.app.session
        ready_times: list[float] = []
        session.state_listeners.append(
            lambda state, _e: (
                state is ConnectionState.READY and ready_times.append(time.monotonic())
            )  # type: ignore[func-returns-value]
        )
        watch, flow, stop = Watch(), Flow(), asyncio.Event()
        readers = [
            asyncio.create_task(watch.read_events(env)),
            asyncio.create_task(watch.read_quotes(env)),
        ]
        resting = [
            (await env.stub.PlaceOrder(place(SPY, limit(BUY, "1", "1")), timeout=10)).order
            for _ in range(2)
        ]
        await wait_until(lambda: bool(watch.quote_times), 10, "quotes streaming")
        clients = [asyncio.create_task(order_flow(env, flow, watch, c, stop)) for c in range(3)]
        resumes: list[float] = []
        for n in range(FAULTS):
            before = len(flow.placed)
            await wait_until(lambda b=before: len(flow.placed) >= b + 2, 60, "orders flowing")
            readies = len(ready_times)
            fault_task = asyncio.create_task(fault(env, n))
            # A stream opened while TWS goes away must also carry on once it is back.
            readers.append(asyncio.create_task(watch.open_late_stream(env, n)))
            back = await fault_task
            await wait_until(lambda r=readies: len(ready_times) > r, 30, f"reconnected ({n})")
            await wait_until(
                lambda b=back: watch.quote_after(b) is not None,
                30,
                f"quotes back after fault {n} ({len(watch.quote_times)} quotes, {watch.errors})",
            )
            resumed = watch.quote_after(back)
            assert resumed is not None
            resumes.append(resumed - back)
            print(f"fault {n}: resumed {resumed - back:.2f}s after TWS was back")
        stop.set()
        await asyncio.wait_for(asyncio.gather(*clients), 120)
        await wait_until(
            lambda: len(watch.late_streams_quoting) == FAULTS, 30, "streams opened mid-fault"
        )
        for i, order in enumerate(resting):
            cancel = pb.CancelOrderRequest(request_id=f"cancel-{i}", order_id=order.order_id)
            await call_until_answered(env, flow, env.stub.CancelOrder, cancel)
        await check_outcome(env, flow, watch)
        for task in readers:
            task.cancel()
        print(
            f"\n{FAULTS} faults, {len(flow.placed)} orders, {flow.retries} retries, "
            f"{len(flow.not_placed)} not placed and placed again; quote streams resumed "
            f"{statistics.median(resumes):.2f}s (median), {max(resumes):.2f}s (max) after "
            "TWS was back"
        )


async def check_outcome(env: ServerEnv, flow: Flow, watch: Watch) -> None:
    orders = await all_orders(env)
    by_id = {o.order_id: o for o in orders}
    sim = env.sim_orders()
    refs = [s.request.order_ref for s in sim]
    assert len(refs) == len(set(refs)), "an order reached TWS twice"
    ib_ids = [s.request.order_id for s in sim]
    assert len(ib_ids) == len(set(ib_ids)), "an IB order id was reused"
    # 0 lost: every logical order was placed once, and filled; a key declared not placed
    # never reached TWS.
    assert len(flow.placed) == len(flow.keys)
    for name, order_id in flow.placed.items():
        order = by_id[order_id]
        assert order.request_id == flow.keys[name][-1]
        await wait_until(lambda o=order_id: status_of(watch, o) in TERMINAL, 30, order_id)
    for key in flow.not_placed:
        assert f"ikb:{key}" not in refs
    # Every order's final state is on the event stream.
    orders = await all_orders(env)
    for order in orders:
        assert order.status in TERMINAL, (order.order_id, order.status)
        await wait_until(
            lambda o=order: watch.statuses.get(o.order_id) == o.status, 30, order.order_id
        )
    filled = [o for o in orders if o.status == order_pb2.ORDER_STATUS_FILLED]
    assert len(filled) == len(flow.placed)
    assert not watch.errors, watch.errors
    racing_fill = (order_pb2.ORDER_STATUS_CANCELLED, order_pb2.ORDER_STATUS_FILLED)
    assert [t for t in watch.left_terminal if t[1:] != racing_fill] == []
    # Commissions: one per execution, summing to the simulator's.
    fills = env.sim.exchange.executions()
    await wait_until(lambda: len(watch.commissions) == len(fills), 30, "every commission")
    assert all(len(v) == 1 for v in watch.commissions.values()), "a commission repeated"
    streamed = sum(v[0] for v in watch.commissions.values())
    assert streamed == sum(f.commission for f in fills)
    assert streamed == sum(Decimal(o.total_commission or "0") for o in orders)


def status_of(watch: Watch, order_id: str) -> int | None:
    return watch.statuses.get(order_id)


async def all_orders(env: ServerEnv) -> list[Any]:
    orders, token = [], ""
    while True:
        page = await env.stub.ListOrders(
            pb.ListOrdersRequest(page_size=500, page_token=token), timeout=10
        )
        orders += list(page.orders)
        token = page.next_page_token
        if not token:
            return orders
