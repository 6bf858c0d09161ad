"""BrokerSession: the one owner of the TWS connection's state, on the asyncio loop.

It connects (with a timeout), becomes ready on nextValidId + managedAccounts, routes every IB
event to the request registry, the order book, the market-data hub or the account caches, and
on connection loss fails what is pending, reconnects with backoff (1 s doubling to 30 s),
restores subscriptions and reconciles orders and executions. Every message to TWS passes one
token bucket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from ..domain import errors
from ..domain.errors import Unavailable
from ..domain.model import (
    ConnectionState,
    Contract,
    IbError,
    MarketDataType,
)
from . import ib_port as g
from .data_feeds import DataFeeds
from .history import HistoricalData
from .journal import OrderJournal
from .market_data import MarketDataHub
from .orders import MAX_IB_ORDER_ID, OrderBook
from .pacing import TokenBucket
from .queries import Queries, Tick
from .reconcile import Reconciliation
from .request_registry import RequestRegistry
from .session_config import LIVE_PORTS, SessionConfig
from .store import Store

log = logging.getLogger(__name__)

JOURNAL_BLOCK = 1000
FIRST_REQ_ID = 2_000_000_000  # far above IB order ids: errors carry either in the same field


class BrokerSession:
    def __init__(self, gateway: g.IbPort, config: SessionConfig, store: Store) -> None:
        self.gateway = gateway
        self.config = config
        self.store = store
        self.state = ConnectionState.DISCONNECTED
        self.accounts: tuple[str, ...] = ()
        self.connect_time: datetime | None = None
        self.next_valid_id = 0
        self.last_session_error: IbError | None = None
        self.bucket = TokenBucket(config.messages_per_second, config.message_burst)
        self.requests = RequestRegistry(FIRST_REQ_ID)
        # Sequences are reserved in blocks so a restart continues above every number handed
        # out, without a write per event.
        self._journal_reserved = int(store.get_meta("journal_sequence", "0"))
        self.journal = OrderJournal(self._journal_reserved, on_append=self._reserve_sequence)
        self.orders = OrderBook(store, self.journal)
        self._check_high_water()
        self.market_data = MarketDataHub(
            self.requests.next_id,
            self._send_mkt_data,
            self._cancel_mkt_data,
            turn_interval=config.quote_interval,
        )
        self.queries = Queries(
            gateway,
            self.requests,
            self._send,
            self.require_ready,
            lambda: self.ready,
            config.request_timeout,
            self.market_data.latest,
        )
        self.history = HistoricalData(self.queries.historical_bars, time.monotonic)
        self.feeds = DataFeeds(
            gateway, self._send, self.requests.next_id, self.history, self.queries
        )
        self.state_listeners: list[Callable[[ConnectionState, IbError | None], None]] = []
        # Awaited before a new order goes to TWS (the bus: its claim and ids are replicated
        # first, so a standby never places it again); none = no await at all.
        self.before_send: list[Callable[[], Awaitable[None]]] = []
        self._ready = asyncio.Event()
        self._handshake_progress = asyncio.Event()  # set by nextValidId, accounts, close
        self._closed = asyncio.Event()
        self._got_id = False
        self._got_accounts = False
        self._run_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._generation = 0  # connections so far: a message queued on one never goes on the next
        # The reconciliation after the latest (re)connect.
        self._reconciling: Reconciliation | None = None
        self._handler_table = {**self._handlers(), **self.feeds.handlers()}
        gateway.set_event_sink(self._on_event)

    def _reserve_sequence(self, sequence: int) -> None:
        if sequence >= self._journal_reserved:
            self._journal_reserved = sequence + JOURNAL_BLOCK
            self.store.set_meta("journal_sequence", str(self._journal_reserved))

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.state is ConnectionState.READY

    @property
    def server_version(self) -> int:
        """The TWS API version negotiated on the connection; 0 before the first one."""
        return self.gateway.server_version

    async def start(self) -> None:
        self._run_task = asyncio.create_task(self._run(), name="broker-session")

    async def wait_ready(self, timeout: float) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def stop(self) -> None:
        self._stopping = True
        if self._run_task:
            self._run_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._run_task
        await self.gateway.disconnect()
        self._set_state(ConnectionState.DISCONNECTED)
        self.orders.flush()
        self.store.close()

    async def _run(self) -> None:
        delay = self.config.reconnect_initial_delay
        while not self._stopping:
            self._set_state(
                ConnectionState.CONNECTING
                if self.connect_time is None
                else ConnectionState.RECONNECTING
            )
            connected_before = self.connect_time
            try:
                await self._connect_once()
                await self._closed.wait()
            except Unavailable as exc:
                log.warning("TWS session not available: %s", exc)
                with contextlib.suppress(Exception):
                    await self.gateway.disconnect()
            if self.connect_time is not connected_before:
                # This connection became ready (even if it dropped while restoring): TWS is
                # there, so the next attempt starts from the shortest delay again.
                delay = self.config.reconnect_initial_delay
            self._on_lost("connection to TWS lost")
            if self._stopping:
                break
            log.info("reconnecting to TWS in %.1fs", delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.config.reconnect_max_delay)

    async def _connect_once(self) -> None:
        c = self.config
        self._generation += 1
        self._closed.clear()
        self._got_id = self._got_accounts = False
        await self.gateway.connect(c.host, c.port, c.client_id, c.connect_timeout)
        try:
            await asyncio.wait_for(self._wait_handshake(), c.connect_timeout)
        except TimeoutError:
            raise Unavailable("TWS did not send nextValidId and managedAccounts") from None
        if self._closed.is_set():
            raise Unavailable("TWS closed the connection during start-up")
        await self._send(self.gateway.req_market_data_type, MarketDataType(c.market_data_type))
        reconnect = self.connect_time is not None
        self.connect_time = datetime.now(UTC)
        self._set_state(ConnectionState.READY)
        self._ready.set()
        await self._after_ready(reconnect)

    async def _wait_handshake(self) -> None:
        while not (self._got_id and self._got_accounts) and not self._closed.is_set():
            self._handshake_progress.clear()
            await self._handshake_progress.wait()

    async def _after_ready(self, reconnect: bool) -> None:
        """Restore what the previous connection had and catch up on missed order events."""
        restored = await self.market_data.restore()
        if reconnect:
            restored += await self.feeds.restore()
        if self.accounts:
            await self._send(self.gateway.req_account_updates, True, self.accounts[0])
        rec = Reconciliation(
            self.connect_time or datetime.now(UTC),
            reconnect,
            settle=self.orders.settle_missing,
            subscriptions_restored=restored,
        )
        self._reconciling = rec
        await self._send(self.gateway.req_open_orders)
        pending = self.requests.register("executions")
        # Nobody awaits it: mark its failure (the link dropping) as seen, so asyncio does not
        # log "Future exception was never retrieved" for every lost connection.
        pending.future.add_done_callback(_retrieved)
        rec.executions_req_id = pending.req_id
        await self._send(self.gateway.req_executions, pending.req_id)
        log.info(
            "TWS session ready: accounts %s, %d subscriptions restored",
            ",".join(self.accounts),
            restored,
        )

    def _on_lost(self, reason: str) -> None:
        was_ready = self._ready.is_set()
        self._ready.clear()
        self._closed.set()
        self._reconciling = None  # unfinished: the next connection reconciles afresh
        failed = self.requests.fail_all(lambda p: Unavailable(f"{reason} during {p.what}"))
        self.orders.fail_pending(Unavailable, reason)
        self.queries.on_connection_lost()
        if was_ready:
            self.market_data.on_connection_lost(IbError(0, reason))
            self.feeds.on_connection_lost(reason)
            log.warning("%s; %d pending requests failed", reason, failed)
        if not self._stopping:
            self._set_state(ConnectionState.RECONNECTING)

    def _set_state(self, state: ConnectionState, error: IbError | None = None) -> None:
        if state is self.state and error is None:
            return
        self.state = state
        for listener in list(self.state_listeners):
            listener(state, error)

    # --- safety -------------------------------------------------------------------------------

    def trading_disabled_reason(self) -> str:
        if not self.ready:
            return f"not connected to TWS ({self.state.value})"
        if self.config.allow_live:
            return ""
        live_accounts = [a for a in self.accounts if not a.startswith("D")]
        if self.config.paper_trading:
            if self.config.port in LIVE_PORTS:
                return f"port {self.config.port} is a live trading port and paper_trading is set"
            if live_accounts:
                return f"account {live_accounts[0]} is a live account and paper_trading is set"
            return ""
        return "live trading needs allow_live = true"

    def require_trading(self) -> None:
        reason = self.trading_disabled_reason()
        if reason:
            if not self.ready:
                raise Unavailable(reason)
            raise errors.TradingDisabled(reason)

    def require_ready(self) -> None:
        if not self.ready:
            raise Unavailable(f"not connected to TWS ({self.state.value})")

    # --- sending ------------------------------------------------------------------------------

    async def _send(self, method: Callable[..., None], *args: Any) -> None:
        generation = self._generation
        await self.bucket.acquire()
        if self._closed.is_set() or generation != self._generation:
            # Queued for a connection that is gone: what it belonged to (a request id, an
            # order acknowledgement) was failed with that connection.
            raise Unavailable("not connected to TWS")
        method(*args)

    @property
    def connection_number(self) -> int:
        """Counts connections: what was meant for one must not be sent on the next."""
        return self._generation

    # --- orders (the trading layer's way to TWS) -----------------------------------------------

    async def wait_turn(self) -> None:
        """Wait until the pacing bucket lets one more message go to TWS (see place_order)."""
        await self.bucket.acquire()

    def place_order(self, ib_order_id: int, contract: Contract, request: g.IbOrderRequest) -> None:
        """Write placeOrder now. The caller waits its turn (`wait_turn`) just before, with no
        await in between, so what it checked after the wait still holds when the order leaves."""
        if self._closed.is_set():
            raise Unavailable("not connected to TWS")
        self.gateway.place_order(ib_order_id, contract, request)

    async def cancel_order(self, ib_order_id: int) -> None:
        await self._send(self.gateway.cancel_order, ib_order_id)

    async def cancel_all_orders(self) -> None:
        """reqGlobalCancel: TWS cancels every open order, also those of other API clients."""
        await self._send(self.gateway.req_global_cancel)

    async def _send_mkt_data(self, req_id: int, contract: Contract) -> None:
        if self.ready:
            # Lost with the link: restore() asks again on reconnect, the stream carries on.
            with contextlib.suppress(Unavailable):
                await self._send(self.gateway.req_mkt_data, req_id, contract, False)

    async def _cancel_mkt_data(self, req_id: int) -> None:
        if self.ready:
            await self._send(self.gateway.cancel_mkt_data, req_id)

    # --- events from IB -----------------------------------------------------------------------

    def _handlers(self) -> dict[type[g.IbEvent], Callable[[Any], None]]:
        """Where each kind of IB event goes: the one table of the kinds the session uses."""
        return {
            g.TickPriceEvent: self._on_tick,
            g.TickSizeEvent: self._on_tick,
            g.TickStringEvent: self._on_tick,
            g.TickOptionComputationEvent: self._on_tick,
            g.TickSnapshotEndEvent: self.queries.on_snapshot_end,
            g.MarketDataTypeEvent: self.market_data.on_market_data_type,
            g.OrderStatusEvent: self.orders.on_order_status,
            g.OpenOrderEvent: self._on_open_order,
            g.OpenOrderEndEvent: self._on_open_order_end,
            g.ExecutionEvent: self._on_execution,
            g.CommissionEvent: self.orders.on_commission,
            g.ErrorEvent: self._on_error,
            g.ContractDetailsEvent: self.queries.on_item,
            g.OptionChainEvent: self.queries.on_item,
            g.AccountSummaryEvent: self.queries.on_item,
            g.ContractDetailsEndEvent: self.queries.on_items_end,
            g.OptionChainEndEvent: self.queries.on_items_end,
            g.AccountSummaryEndEvent: self.queries.on_items_end,
            g.ExecutionsEndEvent: self._on_executions_end,
            g.PositionEvent: self.queries.on_position,
            g.PositionEndEvent: self.queries.on_position_end,
            g.PortfolioEvent: self.queries.on_portfolio,
            g.NextValidIdEvent: self._on_next_valid_id,
            g.ManagedAccountsEvent: self._on_managed_accounts,
            g.ConnectionClosedEvent: self._on_closed,
        }

    def _on_event(self, ev: g.IbEvent) -> None:
        handler = self._handler_table.get(type(ev))
        if handler is None:  # a kind the session does not use (account values, TWS time)
            return
        try:
            handler(ev)
        except Exception:  # one bad event must never kill the session
            log.exception("failed to handle %r", ev)

    def _on_tick(self, ev: Tick) -> None:
        if not self.queries.on_snapshot_tick(ev):
            self.market_data.on_tick(ev)

    def _on_open_order(self, ev: g.OpenOrderEvent) -> None:
        if self._reconciling is not None:
            self._reconciling.open_order(ev.ib_order_id)
        self.orders.on_open_order(ev)

    def _on_open_order_end(self, _ev: g.OpenOrderEndEvent) -> None:
        if self._reconciling is not None:
            self._reconciling.open_orders_end()

    def _on_execution(self, ev: g.ExecutionEvent) -> None:
        new = self.orders.on_execution(ev)
        if self._reconciling is not None:
            self._reconciling.execution(new)

    def _on_executions_end(self, ev: g.ExecutionsEndEvent) -> None:
        self.queries.on_items_end(ev)
        if self._reconciling is not None:
            self._reconciling.executions_end(ev.req_id)

    def _on_next_valid_id(self, ev: g.NextValidIdEvent) -> None:
        self._take_next_valid_id(ev.ib_order_id)
        self._got_id = True
        self._handshake_progress.set()

    def _on_managed_accounts(self, ev: g.ManagedAccountsEvent) -> None:
        self.accounts = ev.accounts
        self._got_accounts = bool(ev.accounts)
        self._handshake_progress.set()

    def _on_closed(self, _ev: g.ConnectionClosedEvent) -> None:
        self._closed.set()
        self._handshake_progress.set()
        if self.ready and not self._stopping:
            # Not ready from this moment: a caller must not see READY (and send into a closed
            # link, or retry at once) until _run has handled the loss.
            self._set_state(ConnectionState.RECONNECTING)

    def _on_error(self, ev: g.ErrorEvent) -> None:
        code = ev.code
        if ev.req_id >= FIRST_REQ_ID:
            if self.market_data.on_error(ev.req_id, code, ev.message):
                return
            if self.feeds.on_error(ev.req_id, code, ev.message):
                return
            pending = self.requests.get(ev.req_id)
            if pending and not errors.is_informational(code):
                self.queries.forget_snapshot(ev.req_id)
                pending.fail(errors.error_for_code(code, ev.message))
            return
        if ev.req_id > 0 and self.orders.on_error(ev):
            return
        self._on_session_notice(ev)

    def _on_session_notice(self, ev: g.ErrorEvent) -> None:
        code = ev.code
        error = IbError(code, ev.message)
        if errors.is_informational(code):
            log.info("TWS notice %d: %s", code, ev.message)
            return
        self.last_session_error = error
        if code == errors.CLIENT_ID_IN_USE:
            log.warning("client id %d in use at TWS; will retry", self.config.client_id)
        elif code == errors.CONNECTIVITY_LOST:
            log.warning("TWS lost connectivity to IB (1100)")
            self.market_data.on_connection_lost(error, keep_ids=True)
        elif code == errors.CONNECTIVITY_RESTORED_DATA_LOST:
            log.warning("TWS connectivity restored, data lost (1101): resubscribing")
            task = asyncio.get_running_loop().create_task(self.market_data.restore())
            task.add_done_callback(_log_task_error)
        elif code == errors.CONNECTIVITY_RESTORED_DATA_KEPT:
            log.info("TWS connectivity restored, data kept (1102)")
            self.market_data.mark_resumed()
        else:
            log.warning("TWS error %d: %s", code, ev.message)

    # --- IB order ids ---------------------------------------------------------------------------

    # The high-water mark moves only when this server allocates an id, or for a sane
    # nextValidId: an order id TWS reports for an order that is not ours (another client's, or
    # garbage such as 2**63) must never become the next id this server sends.

    def _take_next_valid_id(self, order_id: int) -> None:
        if not 0 < order_id <= MAX_IB_ORDER_ID:
            log.warning("ignored nextValidId %d from TWS: not a valid IB order id", order_id)
            return
        self.next_valid_id = order_id
        cid = self.config.client_id
        if order_id - 1 > self.store.ib_order_id_high_water(cid):
            self.store.set_ib_order_id_high_water(cid, order_id - 1)

    def _check_high_water(self) -> None:
        """Repair a stored mark that is not a valid IB order id (written by an older version
        from a bad TWS message) from the store's own orders; nextValidId raises it on connect."""
        cid = self.config.client_id
        stored = self.store.ib_order_id_high_water_text(cid)
        if stored.isascii() and stored.isdigit() and int(stored) <= MAX_IB_ORDER_ID:
            return
        ours = [o.ib_order_id for o in self.orders.all() if 0 < o.ib_order_id <= MAX_IB_ORDER_ID]
        repaired = max(ours, default=0)
        log.warning(
            "stored IB order-id high-water mark %r for client id %d in %s is not a valid IB "
            "order id: repaired to %d (the highest id of this server's orders); TWS's "
            "nextValidId raises it on connect",
            stored[:40], cid, self.store.path, repaired,
        )  # fmt: skip
        self.store.set_ib_order_id_high_water(cid, repaired)

    def allocate_ib_order_id(self) -> int:
        """The next IB order id: above nextValidId and above every id ever used (persisted)."""
        cid = self.config.client_id
        candidate = max(self.next_valid_id, self.store.ib_order_id_high_water(cid) + 1)
        if candidate > MAX_IB_ORDER_ID:
            raise errors.TradingDisabled(
                f"IB order ids of client id {cid} are exhausted; connect with another client_id"
            )
        self.store.set_ib_order_id_high_water(cid, candidate)
        self.next_valid_id = candidate + 1
        return candidate

    # --- queries ------------------------------------------------------------------------------


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _log_task_error(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception():
        log.error("background task failed: %s", task.exception())
