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
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ..domain import errors
from ..domain.errors import Unavailable
from ..domain.model import (
    AccountSummary,
    ConnectionState,
    Contract,
    ContractDetails,
    IbError,
    MarketDataType,
    OptionChain,
    Position,
    Quote,
)
from . import gateway as g
from .config import LIVE_PORTS, SessionConfig
from .journal import OrderJournal
from .market_data import MarketDataHub, Subscription
from .orders import MAX_IB_ORDER_ID, OrderBook
from .pacing import TokenBucket
from .requests import Pending, RequestRegistry
from .store import Store

log = logging.getLogger(__name__)

JOURNAL_BLOCK = 1000
FIRST_REQ_ID = 2_000_000_000  # far above IB order ids: errors carry either in the same field
SUMMARY_TAGS = (
    "NetLiquidation,TotalCashValue,BuyingPower,AvailableFunds,ExcessLiquidity,"
    "MaintMarginReq,InitMarginReq,EquityWithLoanValue,GrossPositionValue,UnrealizedPnL,RealizedPnL"
)


class BrokerSession:
    def __init__(self, gateway: g.Gateway, config: SessionConfig, store: Store) -> None:
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
            self.requests.next_id, self._send_mkt_data, self._cancel_mkt_data
        )
        self.portfolio: dict[tuple[str, int], g.PortfolioEvent] = {}
        self.state_listeners: list[Callable[[ConnectionState, IbError | None], None]] = []
        self._snapshots: dict[int, Subscription] = {}
        self._ready = asyncio.Event()
        self._handshake_progress = asyncio.Event()  # set by nextValidId, accounts, close
        self._closed = asyncio.Event()
        self._got_id = False
        self._got_accounts = False
        self._run_task: asyncio.Task[None] | None = None
        self._positions_lock = asyncio.Lock()
        self._positions: Pending[Any] | None = None
        self._stopping = False
        self._generation = 0  # connections so far: a message queued on one never goes on the next
        # After a (re)connect, until openOrderEnd: the IB ids TWS lists as open, and the event
        # that says the list is complete.
        self._open_at_tws: tuple[set[int], asyncio.Event] | None = None
        self._reconcile_task: asyncio.Task[None] | None = None
        gateway.set_event_sink(self._on_event)

    def _reserve_sequence(self, sequence: int) -> None:
        if sequence >= self._journal_reserved:
            self._journal_reserved = sequence + JOURNAL_BLOCK
            self.store.set_meta("journal_sequence", str(self._journal_reserved))

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.state is ConnectionState.READY

    async def start(self) -> None:
        self._run_task = asyncio.create_task(self._run(), name="broker-session")

    async def wait_ready(self, timeout: float) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def stop(self) -> None:
        self._stopping = True
        for task in (self._run_task, self._reconcile_task):
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
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
            try:
                await self._connect_once()
                delay = self.config.reconnect_initial_delay
                await self._closed.wait()
            except Unavailable as exc:
                log.warning("TWS session not available: %s", exc)
                with contextlib.suppress(Exception):
                    await self.gateway.disconnect()
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
        self.connect_time = datetime.now(UTC)
        self._set_state(ConnectionState.READY)
        self._ready.set()
        await self._after_ready(self.connect_time)

    async def _wait_handshake(self) -> None:
        while not (self._got_id and self._got_accounts) and not self._closed.is_set():
            self._handshake_progress.clear()
            await self._handshake_progress.wait()

    async def _after_ready(self, connected: datetime) -> None:
        """Restore what the previous connection had and catch up on missed order events."""
        restored = await self.market_data.restore()
        if self.accounts:
            await self._send(self.gateway.req_account_updates, True, self.accounts[0])
        listed = self._open_at_tws = (set(), asyncio.Event())
        executions = self.requests.register("executions")
        # Awaited by the reconciliation, so its failure (the link dropping) is always retrieved.
        self._reconcile_task = asyncio.create_task(
            self._reconcile(executions, listed, connected), name="reconcile-orders"
        )
        self._reconcile_task.add_done_callback(_log_task_error)
        await self._send(self.gateway.req_open_orders)
        await self._send(self.gateway.req_executions, executions.req_id)
        log.info(
            "TWS session ready: accounts %s, %d subscriptions restored",
            ",".join(self.accounts),
            restored,
        )

    async def _reconcile(
        self, executions: Pending[Any], listed: tuple[set[int], asyncio.Event], since: datetime
    ) -> None:
        """Once TWS has listed its open orders and replayed today's executions (so an order
        that filled while the link was down is FILLED by now), settle the orders of earlier
        connections that TWS no longer knows."""
        timeout = self.config.request_timeout
        try:
            await self.requests.wait(executions, timeout)
            async with asyncio.timeout(timeout):
                await listed[1].wait()
        except (errors.BrokerError, TimeoutError) as exc:
            log.warning("orders not reconciled after connecting: %s", exc or "no openOrderEnd")
            return
        self.orders.settle_missing(listed[0], since)

    def _on_lost(self, reason: str) -> None:
        was_ready = self._ready.is_set()
        self._ready.clear()
        self._closed.set()
        self._open_at_tws = None
        failed = self.requests.fail_all(lambda p: Unavailable(f"{reason} during {p.what}"))
        self.orders.fail_pending(Unavailable, reason)
        for snap in self._snapshots.values():
            snap.subscribers.clear()
        self._snapshots.clear()
        if was_ready:
            self.market_data.on_connection_lost(IbError(0, reason))
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

    async def send(self, method: Callable[..., None], *args: Any) -> None:
        """Send one message to TWS through the pacing bucket (for the trading module)."""
        await self._send(method, *args)

    async def _send_mkt_data(self, req_id: int, contract: Contract) -> None:
        if self.ready:
            await self._send(self.gateway.req_mkt_data, req_id, contract, False)

    async def _cancel_mkt_data(self, req_id: int) -> None:
        if self.ready:
            await self._send(self.gateway.cancel_mkt_data, req_id)

    async def request(
        self, what: str, method: Callable[..., None], *args: Any, timeout: float | None = None
    ) -> Any:
        """Send a request carrying a fresh req_id (first argument) and await its answer."""
        self.require_ready()
        pending = self.requests.register(what)
        await self._send(method, pending.req_id, *args)
        return await self.requests.wait(pending, timeout or self.config.request_timeout)

    # --- events from IB -----------------------------------------------------------------------

    def _on_event(self, ev: g.IbEvent) -> None:
        try:
            self._dispatch(ev)
        except Exception:  # one bad event must never kill the session
            log.exception("failed to handle %r", ev)

    def _dispatch(self, ev: g.IbEvent) -> None:
        match ev:
            case g.TickPrice() | g.TickSize() | g.TickString() | g.TickOptionComputation():
                snap = self._snapshots.get(ev.req_id)
                if snap is not None:
                    snap.apply(ev)
                else:
                    self.market_data.on_tick(ev)
            case g.MarketDataTypeEvent():
                self.market_data.on_market_data_type(ev)
            case g.OrderStatusEvent():
                self.orders.on_order_status(ev)
            case g.OpenOrderEvent():
                if self._open_at_tws is not None:
                    self._open_at_tws[0].add(ev.ib_order_id)
                self.orders.on_open_order(ev)
            case g.OpenOrderEnd():
                if self._open_at_tws is not None:
                    self._open_at_tws[1].set()
                    self._open_at_tws = None
            case g.ExecutionEvent():
                self.orders.on_execution(ev)
            case g.CommissionEvent():
                self.orders.on_commission(ev)
            case g.ErrorEvent():
                self._on_error(ev)
            case g.ContractDetailsEvent() | g.OptionChainEvent() | g.AccountSummaryEvent():
                pending = self.requests.get(ev.req_id)
                if pending:
                    pending.items.append(ev)
            case (
                g.ContractDetailsEnd()
                | g.OptionChainEnd()
                | g.AccountSummaryEnd()
                | (g.ExecutionsEnd())
            ):
                pending = self.requests.get(ev.req_id)
                if pending:
                    pending.finish(pending.items)
            case g.TickSnapshotEnd():
                snap = self._snapshots.pop(ev.req_id, None)
                if snap is not None:
                    pending = self.requests.get(ev.req_id)
                    if pending:
                        pending.finish(snap.quote())
            case g.PositionEvent():
                if self._positions:
                    self._positions.items.append(ev)
            case g.PositionEnd():
                if self._positions:
                    self._positions.finish(self._positions.items)
            case g.PortfolioEvent():
                self.portfolio[(ev.account, ev.contract.con_id)] = ev
            case g.NextValidId():
                self._on_next_valid_id(ev.order_id)
                self._got_id = True
                self._handshake_progress.set()
            case g.ManagedAccounts():
                self.accounts = ev.accounts
                self._got_accounts = bool(ev.accounts)
                self._handshake_progress.set()
            case g.ConnectionClosed():
                self._closed.set()
                self._handshake_progress.set()
            case _:
                pass

    def _on_error(self, ev: g.ErrorEvent) -> None:
        code = ev.code
        if ev.req_id >= FIRST_REQ_ID:
            if self.market_data.on_error(ev.req_id, code, ev.message):
                return
            pending = self.requests.get(ev.req_id)
            if pending and not errors.is_informational(code):
                self._snapshots.pop(ev.req_id, None)
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

    def _on_next_valid_id(self, order_id: int) -> None:
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

    async def contract_details(self, contract: Contract) -> list[ContractDetails]:
        events = await self.request("contract details", self.gateway.req_contract_details, contract)
        return [e.details for e in events]

    async def option_chains(self, underlying: Contract) -> list[OptionChain]:
        sec_type = underlying.sec_type.value if underlying.sec_type else "STK"
        events = await self.request(
            "option chain",
            self.gateway.req_sec_def_opt_params,
            underlying.symbol,
            sec_type,
            underlying.con_id,
        )
        return [e.chain for e in events]

    async def account_summaries(self) -> list[AccountSummary]:
        self.require_ready()
        pending = self.requests.register("account summary")
        await self._send(self.gateway.req_account_summary, pending.req_id, SUMMARY_TAGS)
        try:
            events = await self.requests.wait(pending, self.config.request_timeout)
        finally:
            if self.ready:
                await self._send(self.gateway.cancel_account_summary, pending.req_id)
        values: dict[str, dict[str, Decimal]] = {}
        currency: dict[str, str] = {}
        for e in events:
            try:
                values.setdefault(e.account, {})[e.tag] = Decimal(e.value)
            except ArithmeticError:
                continue
            if e.currency:
                currency[e.account] = e.currency
        now = datetime.now(UTC)
        return [AccountSummary(a, currency.get(a, ""), v, now) for a, v in values.items()]

    async def positions(self) -> list[Position]:
        self.require_ready()
        async with self._positions_lock:
            pending = self.requests.register("positions")
            self._positions = pending
            try:
                await self._send(self.gateway.req_positions)
                events = await self.requests.wait(pending, self.config.request_timeout)
            finally:
                self._positions = None
        result = []
        for e in events:
            if e.position == 0:
                continue
            pf = self.portfolio.get((e.account, e.contract.con_id))
            result.append(
                Position(
                    account_id=e.account,
                    contract=e.contract,
                    quantity=e.position,
                    average_cost=e.average_cost,
                    market_price=pf.market_price if pf else None,
                    market_value=pf.market_value if pf else None,
                    unrealized_pnl=pf.unrealized_pnl if pf else None,
                    realized_pnl=pf.realized_pnl if pf else None,
                )
            )
        return result

    async def snapshot_quote(self, contract: Contract) -> Quote:
        latest = self.market_data.latest(contract.con_id)
        if latest is not None:
            return latest
        self.require_ready()
        pending = self.requests.register("quote snapshot")
        self._snapshots[pending.req_id] = Subscription(contract, pending.req_id)
        try:
            await self._send(self.gateway.req_mkt_data, pending.req_id, contract, True)
            quote: Quote = await self.requests.wait(pending, self.config.request_timeout)
            return quote
        finally:
            self._snapshots.pop(pending.req_id, None)


def _log_task_error(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception():
        log.error("background task failed: %s", task.exception())
