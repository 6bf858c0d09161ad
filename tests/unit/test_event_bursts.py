"""The bridge hands events to the loop per burst (issue 13): in order across bursts, one wake-up
of the loop per batch of ticks, and anything but a tick without waiting for the rest of its
burst."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from ibkr_broker.server.ib.reader import decoder_loop
from ibkr_broker.server.ib.wrapper import MAX_HELD, EventWrapper
from ibkr_broker.server.session.ib_port import IbEvent, OrderStatusEvent, TickPriceEvent

from ..waiting import wait_until

pytestmark = pytest.mark.timeout(30)


class CountingLoop:
    """The loop as the wrapper sees it, counting its wake-ups from other threads."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.wakeups = 0

    def call_soon_threadsafe(self, callback: Callable[..., Any], *args: Any) -> Any:
        self.wakeups += 1
        return self.loop.call_soon_threadsafe(callback, *args)


class ScriptDecoder:
    """Stands for ibapi's Decoder: payload b"T<n>" is a tick, b"S<n>" an order status."""

    def __init__(self, wrapper: EventWrapper) -> None:
        self.wrapper = wrapper

    def interpret(self, fields: list[bytes], msg_id: int) -> None:
        kind, number = fields[0][:1], int(fields[0][1:])
        if kind == b"T":
            self.wrapper.tickPrice(number, 1, 100.0 + number, None)
        else:
            self.wrapper.orderStatus(
                number, "Submitted", Decimal(0), Decimal(1), 0.0, 0, 0, 0.0, 0, "", 0.0
            )


def script(batches: int, per_batch: int) -> list[list[bytes]]:
    """Batches of ticks with an order status now and then (payloads as the reader frames them:
    message id, fields, each field NUL-terminated)."""
    out, n = [], 0
    for b in range(batches):
        batch = []
        for i in range(per_batch):
            n += 1
            kind = b"S" if (b + i) % 97 == 5 else b"T"
            batch.append(b"1\x00" + kind + b"%d\x00" % n)
        out.append(batch)
    return out


def numbers(events: list[IbEvent]) -> list[int]:
    return [e.req_id if isinstance(e, TickPriceEvent) else e.ib_order_id for e in events]  # type: ignore[attr-defined]


async def run_bridge(payloads: list[list[bytes]]) -> tuple[list[IbEvent], CountingLoop]:
    received: list[IbEvent] = []
    loop = CountingLoop(asyncio.get_running_loop())
    wrapper = EventWrapper(loop, received.append)  # type: ignore[arg-type]
    batches: queue.Queue[list[bytes] | None] = queue.Queue()
    for batch in payloads:
        batches.put(batch)
    batches.put(None)
    result: list[str | None] = []
    thread = threading.Thread(
        target=lambda: result.append(
            decoder_loop(ScriptDecoder(wrapper), 178, batches, lambda: False, bursts=wrapper)
        )
    )
    thread.start()
    expected = sum(len(b) for b in payloads)
    await wait_until(lambda: len(received) == expected and not thread.is_alive(), 10)
    assert result == [None]
    return received, loop


async def test_events_keep_their_order_across_bursts_with_one_wakeup_per_batch() -> None:
    payloads = script(batches=40, per_batch=250)
    received, loop = await run_bridge(payloads)
    assert numbers(received) == list(range(1, 40 * 250 + 1))
    statuses = sum(isinstance(e, OrderStatusEvent) for e in received)
    assert statuses > 40
    # one hand-over per batch, plus one per order status (which never waits for its burst)
    assert loop.wakeups <= 40 + statuses
    assert loop.wakeups < len(received) / 10


async def test_a_burst_longer_than_the_hold_limit_arrives_whole_and_in_order() -> None:
    payloads = [[b"1\x00T%d\x00" % n for n in range(1, 3 * MAX_HELD + 2)]]
    received, loop = await run_bridge(payloads)
    assert numbers(received) == list(range(1, 3 * MAX_HELD + 2))
    assert loop.wakeups == 4


async def test_events_from_another_thread_are_handed_over_alone() -> None:
    received: list[IbEvent] = []
    loop = CountingLoop(asyncio.get_running_loop())
    wrapper = EventWrapper(loop, received.append)  # type: ignore[arg-type]
    wrapper.hold()  # this thread holds; another (a sender reporting an error) does not
    thread = threading.Thread(target=lambda: wrapper.tickPrice(7, 1, 1.5, None))
    thread.start()
    thread.join(5)
    await wait_until(lambda: len(received) == 1)
    wrapper.tickPrice(8, 1, 2.5, None)
    assert loop.wakeups == 1  # held until flushed
    wrapper.flush()
    await wait_until(lambda: len(received) == 2)
    assert numbers(received) == [7, 8]


async def test_a_burst_sink_takes_each_burst_whole_and_single_events_through_the_sink() -> None:
    bursts: list[list[IbEvent]] = []
    singles: list[IbEvent] = []
    loop = CountingLoop(asyncio.get_running_loop())
    wrapper = EventWrapper(loop, singles.append, deliver_burst=bursts.append)  # type: ignore[arg-type]
    wrapper.hold()
    for n in range(1, 4):
        wrapper.tickPrice(n, 1, 1.5, None)
    wrapper.flush()
    thread = threading.Thread(target=lambda: wrapper.tickPrice(9, 1, 2.5, None))
    thread.start()
    thread.join(5)
    await wait_until(lambda: len(bursts) == 1 and len(singles) == 1)
    assert [numbers(b) for b in bursts] == [[1, 2, 3]]
    assert numbers(singles) == [9]
