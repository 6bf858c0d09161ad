"""Market data: one IB subscription per contract, shared by every subscriber.

Subscriptions are reference-counted and cancelled at IB when the last subscriber leaves. Each
subscriber has a bounded mailbox keeping at most one entry per contract: an update for a contract
already waiting replaces it (and is counted as coalesced), so a slow or stalled reader never
blocks others and never grows memory. The quote is built when the subscriber reads, so it
always gets the newest values.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from ..domain import errors
from ..domain.model import (
    Contract,
    IbError,
    MarketDataType,
    OptionGreeks,
    Quote,
    QuoteStatus,
    SubscriptionState,
)
from .fan_out import TURN_INTERVAL, WAKE_STEP, FanOutTurns, Signal
from .ib_port import (
    MarketDataTypeEvent,
    TickOptionComputationEvent,
    TickPriceEvent,
    TickSizeEvent,
    TickStringEvent,
)

# IB tick types -> Quote field (live and delayed numbers).
PRICE_TICKS = {
    1: "bid",
    2: "ask",
    4: "last",
    6: "high",
    7: "low",
    9: "close",
    14: "open",
    66: "bid",
    67: "ask",
    68: "last",
    72: "high",
    73: "low",
    75: "close",
    76: "open",
}
SIZE_TICKS = {
    0: "bid_size",
    3: "ask_size",
    5: "last_size",
    8: "volume",
    69: "bid_size",
    70: "ask_size",
    71: "last_size",
    74: "volume",
}
LAST_TIMESTAMP_TICKS = {45, 88}
MODEL_GREEKS_TICKS = {13, 83}
ANY_GREEKS_TICKS = {10, 11, 12, 13, 80, 81, 82, 83}

log = logging.getLogger(__name__)

Tick = TickPriceEvent | TickSizeEvent | TickStringEvent | TickOptionComputationEvent
MAX_STATUSES = 64  # per subscriber; older status messages are dropped first


class Subscription:
    """IB's stream for one contract and the latest values it delivered."""

    def __init__(self, contract: Contract, req_id: int) -> None:
        self.contract = contract
        self.req_id = req_id
        self.subscribers: set[Subscriber] = set()
        self.values: dict[str, Any] = {}
        self.market_data_type = MarketDataType.LIVE
        self.greeks: OptionGreeks | None = None
        self.state = SubscriptionState.SUBSCRIBED
        self.error: IbError | None = None
        self.update_time: datetime | None = None
        self.version = 0
        self._cached: Quote | None = None
        self._cached_version = -1

    def quote(self) -> Quote:
        if self._cached_version != self.version or self._cached is None:
            self._cached = Quote(
                con_id=self.contract.con_id,
                symbol=self.contract.symbol,
                market_data_type=self.market_data_type,
                greeks=self.greeks,
                update_time=self.update_time,
                **self.values,
            )
            self._cached_version = self.version
        return self._cached

    def status(self) -> QuoteStatus:
        return QuoteStatus(self.contract.con_id, self.contract, self.state, self.error)

    def apply(self, ev: Tick) -> bool:
        """Take one tick into the latest values; False when it carries nothing we keep."""
        if isinstance(ev, TickPriceEvent):
            name = PRICE_TICKS.get(ev.tick_type)
            if name is None or (ev.price <= 0 and name in ("bid", "ask")):
                return False
            self.values[name] = ev.price
        elif isinstance(ev, TickSizeEvent):
            name = SIZE_TICKS.get(ev.tick_type)
            if name is None:
                return False
            self.values[name] = ev.size
        elif isinstance(ev, TickStringEvent):
            if ev.tick_type not in LAST_TIMESTAMP_TICKS or not ev.value.isdigit():
                return False
            self.values["last_trade_time"] = datetime.fromtimestamp(int(ev.value), UTC)
        else:
            if ev.tick_type not in ANY_GREEKS_TICKS:
                return False
            if ev.tick_type in MODEL_GREEKS_TICKS or self.greeks is None:
                self.greeks = ev.greeks
        self.update_time = datetime.now(UTC)
        self.version += 1
        return True


class Subscriber:
    """One stream's mailbox: contracts with news (newest only) and status changes.

    It holds at most one entry per contract, whatever the tick rate: the quote is built when
    the stream takes it, from the newest values, and the updates it skipped are counted from
    the subscription's version (`coalesced`)."""

    _ids = itertools.count(1)

    def __init__(self) -> None:
        self.id = next(self._ids)
        self.dirty: dict[int, Subscription] = {}
        self.seen: dict[int, int] = {}  # con_id -> the version of the last quote taken
        self.statuses: deque[QuoteStatus] = deque(maxlen=MAX_STATUSES)
        self.wake = Signal()
        self.on_coalesced: Callable[[int], None] = lambda _n: None

    def join(self, sub: Subscription) -> None:
        """Start reading `sub`: its updates from now on count; its current values are news."""
        self.seen.setdefault(sub.contract.con_id, sub.version)
        if sub.update_time:
            self.notify(sub)

    def mark(self, sub: Subscription) -> None:
        """`sub` changed (the stream is woken separately, in the hub's fan-out turn)."""
        self.dirty[sub.contract.con_id] = sub

    def notify(self, sub: Subscription) -> None:
        self.dirty[sub.contract.con_id] = sub
        self.wake.set()

    def notify_status(self, status: QuoteStatus) -> None:
        self.statuses.append(status)
        self.wake.set()

    @property
    def coalesced(self) -> int:
        """Updates that newer ones replaced in this mailbox since the last take."""
        return sum(self._skipped(sub) for sub in self.dirty.values())

    def _skipped(self, sub: Subscription) -> int:
        return max(0, sub.version - self.seen.get(sub.contract.con_id, sub.version) - 1)

    def take(self) -> tuple[list[QuoteStatus], list[Quote], int]:
        statuses: list[QuoteStatus] = []
        if self.statuses:
            statuses = list(self.statuses)
            self.statuses.clear()
        quotes, coalesced, seen = [], 0, self.seen
        for con_id, sub in self.dirty.items():  # the hot loop of fan-out: _skipped inlined
            version = sub.version
            skipped = version - seen.get(con_id, version) - 1
            if skipped > 0:
                coalesced += skipped
            seen[con_id] = version
            quotes.append(sub.quote())
        self.dirty.clear()
        self.wake.clear()
        if coalesced:
            self.on_coalesced(coalesced)
        return statuses, quotes, coalesced


Send = Callable[[int, Contract], Awaitable[None]]
Cancel = Callable[[int], Awaitable[None]]


class MarketDataHub:
    """Subscriptions by contract and their subscribers.

    Quotes reach subscribers in fan-out turns: a tick only updates its subscription (the cost
    of a tick does not grow with the subscribers); at most once per `turn_interval` the
    subscriptions that changed are marked in their subscribers' mailboxes, and the streams
    with news are woken `wake_step` at a time, each group queued behind whatever the loop had
    ready (events from TWS, order calls, acknowledgements): quote work per loop iteration is
    bounded, and a stream writes at most once per turn, with everything that changed."""

    def __init__(
        self,
        next_req_id: Callable[[], int],
        send: Send,
        cancel: Cancel,
        turn_interval: float = TURN_INTERVAL,
        wake_step: int = WAKE_STEP,
    ) -> None:
        self._next_req_id = next_req_id
        self._send = send
        self._cancel = cancel
        self._by_con_id: dict[int, Subscription] = {}
        self._by_req_id: dict[int, Subscription] = {}
        self.coalesced_total = 0  # updates replaced in a mailbox before they were read, ever
        self._changed: dict[int, Subscription] = {}  # since the last turn, by con_id
        self.fan_out = FanOutTurns(self._turn, turn_interval, wake_step)

    @property
    def subscriptions(self) -> list[Subscription]:
        return list(self._by_con_id.values())

    @property
    def lines(self) -> int:
        """Market-data lines held at IB now (live requests; none while disconnected)."""
        return len(self._by_req_id)

    @property
    def subscriber_count(self) -> int:
        """Quote streams subscribed to at least one contract."""
        return len({s for sub in self._by_con_id.values() for s in sub.subscribers})

    def latest(self, con_id: int) -> Quote | None:
        sub = self._by_con_id.get(con_id)
        return sub.quote() if sub and sub.update_time else None

    async def subscribe(self, subscriber: Subscriber, contracts: list[Contract]) -> None:
        subscriber.on_coalesced = self._count_coalesced
        for contract in contracts:
            sub = self._by_con_id.get(contract.con_id)
            if sub is None:
                sub = Subscription(contract, self._next_req_id())
                self._by_con_id[contract.con_id] = sub
                self._by_req_id[sub.req_id] = sub
                sub.subscribers.add(subscriber)
                subscriber.join(sub)
                await self._send(sub.req_id, contract)
            else:
                sub.subscribers.add(subscriber)
                subscriber.join(sub)
            subscriber.notify_status(sub.status())

    async def unsubscribe(self, subscriber: Subscriber) -> None:
        """Leave every subscription; the ones nobody else reads are cancelled at IB.

        The book-keeping is done before the first await, so concurrent unsubscribes (many
        streams cancelled at once) never see a half-removed subscription; the cancels are
        shielded, so a caller cancelled meanwhile still releases every line at IB."""
        released = []
        for con_id, sub in list(self._by_con_id.items()):
            sub.subscribers.discard(subscriber)
            if not sub.subscribers:
                del self._by_con_id[con_id]
                # Still listed by req_id = the line is held at TWS (also during a 1100 outage);
                # after a dropped connection TWS has freed it already.
                if self._by_req_id.pop(sub.req_id, None) is sub:
                    released.append(sub.req_id)
        if released:
            await asyncio.shield(self._cancel_each(released))

    async def _cancel_each(self, req_ids: list[int]) -> None:
        for req_id in req_ids:
            try:
                await self._cancel(req_id)
            except errors.BrokerError as exc:  # the link dropped: TWS freed the lines itself
                log.info("market data %d not cancelled at TWS: %s", req_id, exc)

    # --- IB events ----------------------------------------------------------------------------

    def on_tick(self, ev: Tick) -> None:
        sub = self._by_req_id.get(ev.req_id)
        if sub is None or not sub.apply(ev):
            return
        if sub.state not in (SubscriptionState.SUBSCRIBED, SubscriptionState.DELAYED):
            self._set_state(sub, SubscriptionState.SUBSCRIBED, None)
        self._changed[sub.contract.con_id] = sub
        self.fan_out.request()

    def _count_coalesced(self, count: int) -> None:
        self.coalesced_total += count

    def _turn(self) -> list[Signal]:
        """A fan-out turn: mark what changed in the mailboxes; the streams to wake."""
        changed, self._changed = self._changed, {}
        ready: dict[Subscriber, None] = {}
        for sub in changed.values():
            for subscriber in sub.subscribers:
                subscriber.mark(sub)
                ready[subscriber] = None
        return [subscriber.wake for subscriber in ready]

    def on_market_data_type(self, ev: MarketDataTypeEvent) -> None:
        sub = self._by_req_id.get(ev.req_id)
        if sub is None:
            return
        sub.market_data_type = ev.market_data_type
        delayed = ev.market_data_type in (MarketDataType.DELAYED, MarketDataType.DELAYED_FROZEN)
        state = SubscriptionState.DELAYED if delayed else SubscriptionState.SUBSCRIBED
        if state is not sub.state:
            self._set_state(sub, state, None)

    def on_error(self, req_id: int, code: int, message: str) -> bool:
        """Apply an IB error about a market-data request; True when it was one."""
        sub = self._by_req_id.get(req_id)
        if sub is None:
            return False
        error = IbError(code, message)
        if code == errors.DELAYED_DATA_NOTICE:
            self._set_state(sub, SubscriptionState.DELAYED, error)
        elif errors.is_informational(code):
            return True
        elif code == errors.MARKET_DATA_LINE_LIMIT:
            self._drop(sub, SubscriptionState.LINE_LIMIT_REACHED, error)
        elif code in errors.MARKET_DATA_NOT_SUBSCRIBED:
            self._drop(sub, SubscriptionState.NOT_ENTITLED, error)
        else:
            self._drop(sub, SubscriptionState.ERROR, error)
        return True

    def on_connection_lost(self, error: IbError | None = None, keep_ids: bool = False) -> None:
        """Streams stop: the socket dropped, or (keep_ids) TWS lost IB's servers (1100)."""
        for sub in self._by_con_id.values():
            if not keep_ids:
                self._by_req_id.pop(sub.req_id, None)
            self._set_state(sub, SubscriptionState.INTERRUPTED, error)

    async def restore(self) -> int:
        """Re-request every subscription after a reconnect (or IB's 1101 data-lost notice)."""
        restored = 0
        for sub in list(self._by_con_id.values()):
            if not sub.subscribers:
                continue
            self._by_req_id.pop(sub.req_id, None)
            sub.req_id = self._next_req_id()
            self._by_req_id[sub.req_id] = sub
            await self._send(sub.req_id, sub.contract)
            if self._by_req_id.get(sub.req_id) is not sub:
                continue  # its last subscriber left meanwhile; its cancel is queued behind
            self._set_state(sub, SubscriptionState.SUBSCRIBED, None)
            restored += 1
        return restored

    def mark_resumed(self) -> None:
        """TWS kept the data across a connectivity blip (1102): interrupted streams resume."""
        for sub in self._by_con_id.values():
            if sub.state is SubscriptionState.INTERRUPTED and sub.req_id in self._by_req_id:
                self._set_state(sub, SubscriptionState.SUBSCRIBED, None)

    def _drop(self, sub: Subscription, state: SubscriptionState, error: IbError) -> None:
        """IB ended this subscription: tell subscribers; a later subscribe asks IB again."""
        self._by_req_id.pop(sub.req_id, None)
        self._by_con_id.pop(sub.contract.con_id, None)
        self._set_state(sub, state, error)

    def _set_state(
        self, sub: Subscription, state: SubscriptionState, error: IbError | None
    ) -> None:
        sub.state = state
        sub.error = error
        status = sub.status()
        for subscriber in sub.subscribers:
            subscriber.notify_status(status)
