"""Questions to TWS with one answer each: contract details, option chains, account summaries,
positions and quote snapshots.

Each registers its request before sending (`RequestRegistry`) and awaits the answer with a
deadline; the session routes the events that answer them to the `on_*` methods here.
Identical questions asked meanwhile share the one request in flight (`SharedCalls`): 100
streams opening at once for the same contracts cost one lookup per contract at TWS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ..domain.history import BarQuery, BarSeries
from ..domain.model import AccountSummary, Contract, ContractDetails, OptionChain, Position, Quote
from . import ib_port as g
from .market_data import Subscription
from .request_registry import Pending, RequestRegistry
from .shared import SharedCalls

SUMMARY_TAGS = (
    "NetLiquidation,TotalCashValue,BuyingPower,AvailableFunds,ExcessLiquidity,"
    "MaintMarginReq,InitMarginReq,EquityWithLoanValue,GrossPositionValue,UnrealizedPnL,RealizedPnL"
)

Send = Callable[..., Awaitable[None]]  # the session's paced send: send(method, *args)
Tick = g.TickPriceEvent | g.TickSizeEvent | g.TickStringEvent | g.TickOptionComputationEvent


class Queries:
    def __init__(
        self,
        gateway: g.IbPort,
        requests: RequestRegistry,
        send: Send,
        require_ready: Callable[[], None],
        is_ready: Callable[[], bool],
        timeout: float,
        latest_quote: Callable[[int], Quote | None],
    ) -> None:
        self.gateway = gateway
        self.requests = requests
        self._send = send
        self.require_ready = require_ready
        self._is_ready = is_ready
        self._timeout = timeout
        self._latest_quote = latest_quote
        self.portfolio: dict[tuple[str, int], g.PortfolioEvent] = {}
        # Told every portfolio update TWS sends (the bus publishes them as account updates).
        self.portfolio_listeners: list[Callable[[g.PortfolioEvent], None]] = []
        self._snapshots: dict[int, Subscription] = {}
        self._positions_lock = asyncio.Lock()
        self._positions: Pending[Any] | None = None
        self.shared = SharedCalls()

    async def request(
        self, what: str, method: Callable[..., None], *args: Any, timeout: float | None = None
    ) -> Any:
        """Send a request carrying a fresh req_id (first argument) and await its answer."""
        self.require_ready()
        pending = self.requests.register(what)
        await self._send(method, pending.req_id, *args)
        return await self.requests.wait(pending, timeout or self._timeout)

    async def contract_details(self, contract: Contract) -> list[ContractDetails]:
        return list(await self.shared.run(("details", contract), lambda: self._details(contract)))

    async def _details(self, contract: Contract) -> list[ContractDetails]:
        events = await self.request("contract details", self.gateway.req_contract_details, contract)
        return [e.details for e in events]

    async def option_chains(self, underlying: Contract) -> list[OptionChain]:
        return list(await self.shared.run(("chains", underlying), lambda: self._chains(underlying)))

    async def _chains(self, underlying: Contract) -> list[OptionChain]:
        security_type = underlying.security_type.value if underlying.security_type else "STK"
        events = await self.request(
            "option chain",
            self.gateway.req_sec_def_opt_params,
            underlying.symbol,
            security_type,
            underlying.con_id,
        )
        return [e.chain for e in events]

    async def historical_bars(self, query: BarQuery, timeout: float) -> BarSeries:
        """reqHistoricalData, unpaced: callers go through `HistoricalData` (history.py)."""
        events = await self.request(
            "historical data", self.gateway.req_historical_data, query, timeout=timeout
        )
        return BarSeries(tuple(e.bar for e in events))

    async def account_summaries(self) -> list[AccountSummary]:
        return list(await self.shared.run("summaries", self._summaries))

    async def _summaries(self) -> list[AccountSummary]:
        self.require_ready()
        pending = self.requests.register("account summary")
        await self._send(self.gateway.req_account_summary, pending.req_id, SUMMARY_TAGS)
        try:
            events = await self.requests.wait(pending, self._timeout)
        finally:
            if self._is_ready():
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
        return list(await self.shared.run("positions", self._positions_now))

    async def _positions_now(self) -> list[Position]:
        self.require_ready()
        async with self._positions_lock:
            pending = self.requests.register("positions")
            self._positions = pending
            try:
                await self._send(self.gateway.req_positions)
                events = await self.requests.wait(pending, self._timeout)
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
        latest = self._latest_quote(contract.con_id)
        if latest is not None:
            return latest
        snapshot = self.shared.run(("snapshot", contract), lambda: self._snapshot(contract))
        quote: Quote = await snapshot
        return quote

    async def _snapshot(self, contract: Contract) -> Quote:
        self.require_ready()
        pending = self.requests.register("quote snapshot")
        self._snapshots[pending.req_id] = Subscription(contract, pending.req_id)
        try:
            await self._send(self.gateway.req_mkt_data, pending.req_id, contract, True)
            quote: Quote = await self.requests.wait(pending, self._timeout)
            return quote
        finally:
            self._snapshots.pop(pending.req_id, None)

    # --- the events that answer them ------------------------------------------------------------

    def on_item(
        self,
        ev: g.ContractDetailsEvent
        | g.OptionChainEvent
        | g.AccountSummaryEvent
        | g.HistoricalBarEvent,
    ) -> None:
        pending = self.requests.get(ev.req_id)
        if pending:
            pending.items.append(ev)

    def on_items_end(
        self,
        ev: g.ContractDetailsEndEvent
        | g.OptionChainEndEvent
        | g.AccountSummaryEndEvent
        | g.ExecutionsEndEvent
        | g.HistoricalBarsEndEvent,
    ) -> None:
        pending = self.requests.get(ev.req_id)
        if pending:
            pending.finish(pending.items)

    def on_position(self, ev: g.PositionEvent) -> None:
        if self._positions:
            self._positions.items.append(ev)

    def on_position_end(self, _ev: g.PositionEndEvent) -> None:
        if self._positions:
            self._positions.finish(self._positions.items)

    def on_portfolio(self, ev: g.PortfolioEvent) -> None:
        self.portfolio[(ev.account, ev.contract.con_id)] = ev
        for listener in self.portfolio_listeners:
            listener(ev)

    def on_snapshot_tick(self, ev: Tick) -> bool:
        """Apply a tick to the snapshot it answers; False when it belongs to no snapshot."""
        snap = self._snapshots.get(ev.req_id)
        if snap is None:
            return False
        snap.apply(ev)
        return True

    def on_snapshot_end(self, ev: g.TickSnapshotEndEvent) -> None:
        snap = self._snapshots.pop(ev.req_id, None)
        pending = self.requests.get(ev.req_id) if snap is not None else None
        if snap is not None and pending:
            pending.finish(snap.quote())

    def forget_snapshot(self, req_id: int) -> None:
        """The snapshot request `req_id` failed (its pending request fails with the error)."""
        self._snapshots.pop(req_id, None)

    def on_connection_lost(self) -> None:
        for snap in self._snapshots.values():
            snap.subscribers.clear()
        self._snapshots.clear()
