"""The EWrapper of the bridge: copies each ibapi callback into an immutable event for the loop.

Rules (DESIGN.md, "Bridge"): every callback builds one event from its arguments and hands it to
the event loop. No state, no locks, no futures.

On the decoder thread, events are handed over per burst: they are held while the decoder works
through a batch of messages and handed to the loop together, in order, with one
`call_soon_threadsafe` (`flush`, called by the decoder loop after each batch). Any event other
than a tick flushes at once, with everything held before it, so order acknowledgements never
wait for the rest of a burst of ticks. From any other thread an event is handed over alone.
A callback never raises: a failure to convert is logged and the callback's event is dropped.
Callbacks run on the decoder thread, and may run on others (ibapi reports some client-side
errors from the thread that sent).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

from ibapi.commission_and_fees_report import CommissionAndFeesReport as IbCommissionReport
from ibapi.contract import Contract as IbContract
from ibapi.contract import ContractDetails as IbContractDetails
from ibapi.execution import Execution as IbExecution
from ibapi.order import Order as IbOrder
from ibapi.order_state import OrderState as IbOrderState
from ibapi.wrapper import EWrapper

from ..domain.model import MarketDataType
from ..session.ib_port import (
    AccountDownloadEndEvent,
    AccountSummaryEndEvent,
    AccountSummaryEvent,
    AccountValueEvent,
    ConnectionClosedEvent,
    ContractDetailsEndEvent,
    ContractDetailsEvent,
    CurrentTimeEvent,
    ErrorEvent,
    ExecutionsEndEvent,
    IbEvent,
    ManagedAccountsEvent,
    MarketDataTypeEvent,
    NextValidIdEvent,
    OpenOrderEndEvent,
    OpenOrderEvent,
    OptionChainEndEvent,
    OptionChainEvent,
    OrderStatusEvent,
    PortfolioEvent,
    PositionEndEvent,
    PositionEvent,
    TickOptionComputationEvent,
    TickPriceEvent,
    TickSizeEvent,
    TickSnapshotEndEvent,
    TickStringEvent,
)
from . import ibapi_convert as convert
from . import protobuf_convert, ticks
from .data_wrapper import DataCallbacks, guarded

logger = logging.getLogger(__name__)

_guarded = guarded


def _id(value: int) -> int:
    """An order/perm/client id; unset (possible from the protobuf decoder) -> 0."""
    return convert.int_or_none(value) or 0


def _fill_price(price: float, filled: Decimal) -> Decimal | None:
    """IB sends 0 as the average/last fill price while nothing is filled."""
    if not filled:
        return None
    return convert.float_to_decimal(price)


MAX_HELD = 1024  # events held at most before a hand-over, also within one batch
BURST_EVENTS = frozenset(
    {TickPriceEvent, TickSizeEvent, TickStringEvent, TickOptionComputationEvent}
)


class EventWrapper(DataCallbacks, EWrapper):  # type: ignore[misc]
    """Turns ibapi callbacks into `IbEvent`s on the event loop (see the module docstring)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sink: Callable[[IbEvent], None],
        tws_time_zone: tzinfo = UTC,
        *,
        deliver_burst: Callable[[list[IbEvent]], None] | None = None,
    ) -> None:
        """`sink` takes each event on the loop; `deliver_burst`, if given, takes a held burst
        whole instead (one call, not one per event) and must guard each event as `sink` is."""
        super().__init__()
        self._loop = loop
        self._sink = sink
        self._deliver_burst = deliver_burst or self._deliver
        self._tws_tz = tws_time_zone
        self._held: list[IbEvent] = []
        self._holder: int | None = None  # the thread whose events are held per burst

    def hold(self) -> None:
        """From now on, events posted on this thread wait for `flush` (the decoder thread)."""
        self._holder = threading.get_ident()

    def flush(self) -> None:
        """Hand every held event to the loop, in order, with one wake-up."""
        if not self._held:
            return
        batch, self._held = self._held, []
        self._call_soon(self._deliver_burst, batch)

    def post_ticks(self, events: list[IbEvent]) -> None:
        """Events of ticks decoded without ibapi (ticks.py), in order, handed over as `_post`
        hands over ticks: held on the holding thread, the list itself kept (not copied)."""
        if self._holder != threading.get_ident():
            self._call_soon(self._deliver_burst, events)
            return
        if self._held:
            self._held.extend(events)
        else:
            self._held = events
        if len(self._held) >= MAX_HELD:
            self.flush()

    def _deliver(self, batch: list[IbEvent]) -> None:
        """On the loop: each event of a burst to the sink, in order."""
        sink = self._sink
        for event in batch:
            try:
                sink(event)
            except Exception:
                logger.exception("event sink failed on %s", type(event).__name__)

    def _post(self, event: IbEvent) -> None:
        if self._holder != threading.get_ident():
            self._call_soon(self._sink, event)
            return
        self._held.append(event)
        if type(event) not in BURST_EVENTS or len(self._held) >= MAX_HELD:
            self.flush()

    def _call_soon(self, callback: Callable[[Any], None], arg: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, arg)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            logger.debug("event loop closed; dropped %s", type(arg).__name__)

    # --- connection ---------------------------------------------------------------------------

    @_guarded
    def connectAck(self) -> None:
        pass

    @_guarded
    def connectionClosed(self) -> None:
        self._post(ConnectionClosedEvent("connection closed"))

    @_guarded
    def nextValidId(self, orderId: int) -> None:
        self._post(NextValidIdEvent(int(orderId)))

    @_guarded
    def managedAccounts(self, accountsList: str) -> None:
        accounts = tuple(a.strip() for a in accountsList.split(",") if a.strip())
        self._post(ManagedAccountsEvent(accounts))

    @_guarded
    def error(
        self,
        reqId: int,
        errorTime: int,
        errorCode: int,
        errorString: str,
        advancedOrderRejectJson: str = "",
    ) -> None:
        self._post(
            ErrorEvent(int(reqId), int(errorCode), errorString, advancedOrderRejectJson or "")
        )

    @_guarded
    def currentTime(self, time: int) -> None:
        self._post(CurrentTimeEvent(datetime.fromtimestamp(int(time), UTC)))

    # --- contracts ----------------------------------------------------------------------------

    @_guarded
    def contractDetails(self, reqId: int, contractDetails: IbContractDetails) -> None:
        self._post(ContractDetailsEvent(int(reqId), convert.details_from_ib(contractDetails)))

    @_guarded
    def bondContractDetails(self, reqId: int, contractDetails: IbContractDetails) -> None:
        self._post(ContractDetailsEvent(int(reqId), convert.details_from_ib(contractDetails)))

    @_guarded
    def contractDetailsEnd(self, reqId: int) -> None:
        self._post(ContractDetailsEndEvent(int(reqId)))

    @_guarded
    def securityDefinitionOptionParameter(
        self,
        reqId: int,
        exchange: str,
        underlyingConId: int,
        tradingClass: str,
        multiplier: str,
        expirations: Any,
        strikes: Any,
    ) -> None:
        chain = convert.option_chain_from_ib(
            exchange, underlyingConId, tradingClass, multiplier, expirations, strikes
        )
        self._post(OptionChainEvent(int(reqId), chain))

    @_guarded
    def securityDefinitionOptionParameterEnd(self, reqId: int) -> None:
        self._post(OptionChainEndEvent(int(reqId)))

    # --- orders -------------------------------------------------------------------------------

    @_guarded
    def openOrder(
        self, orderId: int, contract: IbContract, order: IbOrder, orderState: IbOrderState
    ) -> None:
        self._post(
            OpenOrderEvent(
                ib_order_id=_id(orderId),
                perm_id=_id(order.permId),
                client_id=_id(order.clientId),
                parent_ib_order_id=_id(order.parentId),
                contract=convert.contract_from_ib(contract),
                action=convert.action_from_ib(order.action),
                quantity=convert.decimal_or_zero(order.totalQuantity),
                order_type=order.orderType,
                limit_price=convert.float_to_decimal(order.lmtPrice),
                aux_price=convert.float_to_decimal(order.auxPrice),
                account=order.account,
                order_ref=order.orderRef or "",
                status=orderState.status,
                preview=convert.preview_from_ib(orderState) if order.whatIf else None,
            )
        )

    @_guarded
    def openOrderEnd(self) -> None:
        self._post(OpenOrderEndEvent())

    @_guarded
    def orderStatus(
        self,
        orderId: int,
        status: str,
        filled: Decimal,
        remaining: Decimal,
        avgFillPrice: float,
        permId: int,
        parentId: int,
        lastFillPrice: float,
        clientId: int,
        whyHeld: str,
        mktCapPrice: float,
    ) -> None:
        filled_qty = convert.decimal_or_zero(filled)
        self._post(
            OrderStatusEvent(
                ib_order_id=_id(orderId),
                status=status,
                filled=filled_qty,
                remaining=convert.decimal_or_zero(remaining),
                avg_fill_price=_fill_price(avgFillPrice, filled_qty),
                perm_id=_id(permId),
                parent_ib_order_id=_id(parentId),
                last_fill_price=_fill_price(lastFillPrice, filled_qty),
                client_id=_id(clientId),
                why_held=whyHeld or "",
            )
        )

    @_guarded
    def execDetails(self, reqId: int, contract: IbContract, execution: IbExecution) -> None:
        self._post(convert.execution_from_ib(int(reqId), contract, execution, self._tws_tz))

    @_guarded
    def execDetailsEnd(self, reqId: int) -> None:
        self._post(ExecutionsEndEvent(int(reqId)))

    @_guarded
    def commissionAndFeesReport(self, commissionAndFeesReport: IbCommissionReport) -> None:
        self._post(convert.commission_from_ib(commissionAndFeesReport))

    @_guarded
    def commissionAndFeesReportProtoBuf(self, commissionAndFeesReportProto: Any) -> None:
        """The protobuf-era report (decoding.py): an absent realized PnL stays unset."""
        self._post(protobuf_convert.commission_from_proto(commissionAndFeesReportProto))

    # --- market data --------------------------------------------------------------------------

    @_guarded
    def tickPrice(self, reqId: int, tickType: int, price: float, attrib: Any) -> None:
        event = ticks.price_event(reqId, tickType, price)
        if event is not None:
            self._post(event)

    @_guarded
    def tickSize(self, reqId: int, tickType: int, size: Decimal) -> None:
        event = ticks.size_event(reqId, tickType, size)
        if event is not None:  # tickPrice without a size reports an unset one
            self._post(event)

    @_guarded
    def tickString(self, reqId: int, tickType: int, value: str) -> None:
        self._post(ticks.string_event(reqId, tickType, value))

    @_guarded
    def tickGeneric(self, reqId: int, tickType: int, value: float) -> None:
        pass  # no generic ticks are requested; the domain has no place for them

    @_guarded
    def tickReqParams(
        self, tickerId: int, minTick: float, bboExchange: str, snapshotPermissions: int
    ) -> None:
        pass

    @_guarded
    def tickOptionComputation(
        self,
        reqId: int,
        tickType: int,
        tickAttrib: int,
        impliedVol: float | None,
        delta: float | None,
        optPrice: float | None,
        pvDividend: float | None,
        gamma: float | None,
        vega: float | None,
        theta: float | None,
        undPrice: float | None,
    ) -> None:
        greeks = convert.greeks_from_ib(
            impliedVol, delta, optPrice, pvDividend, gamma, vega, theta, undPrice
        )
        self._post(TickOptionComputationEvent(int(reqId), int(tickType), greeks))

    @_guarded
    def tickSnapshotEnd(self, reqId: int) -> None:
        self._post(TickSnapshotEndEvent(int(reqId)))

    @_guarded
    def marketDataType(self, reqId: int, marketDataType: int) -> None:
        self._post(MarketDataTypeEvent(int(reqId), MarketDataType(int(marketDataType))))

    # --- account ------------------------------------------------------------------------------

    @_guarded
    def updateAccountValue(self, key: str, val: str, currency: str, accountName: str) -> None:
        self._post(AccountValueEvent(accountName, key, val, currency))

    @_guarded
    def updatePortfolio(
        self,
        contract: IbContract,
        position: Decimal,
        marketPrice: float,
        marketValue: float,
        averageCost: float,
        unrealizedPNL: float,
        realizedPNL: float,
        accountName: str,
    ) -> None:
        self._post(
            PortfolioEvent(
                account=accountName,
                contract=convert.contract_from_ib(contract),
                position=convert.decimal_or_zero(position),
                market_price=convert.float_to_decimal(marketPrice),
                market_value=convert.float_to_decimal(marketValue),
                average_cost=convert.float_to_decimal(averageCost),
                unrealized_pnl=convert.float_to_decimal(unrealizedPNL),
                realized_pnl=convert.float_to_decimal(realizedPNL),
            )
        )

    @_guarded
    def updatePortfolioProtoBuf(self, portfolioValueProto: Any) -> None:
        """The protobuf-era portfolio line (decoding.py): absent prices and PnL stay unset."""
        event = protobuf_convert.portfolio_from_proto(portfolioValueProto)
        if event is not None:
            self._post(event)

    @_guarded
    def updateAccountTime(self, timeStamp: str) -> None:
        pass

    @_guarded
    def accountDownloadEnd(self, accountName: str) -> None:
        self._post(AccountDownloadEndEvent(accountName))

    @_guarded
    def position(
        self, account: str, contract: IbContract, position: Decimal, avgCost: float
    ) -> None:
        self._post(
            PositionEvent(
                account=account,
                contract=convert.contract_from_ib(contract),
                position=convert.decimal_or_zero(position),
                average_cost=convert.decimal_or_zero(avgCost),
            )
        )

    @_guarded
    def positionEnd(self) -> None:
        self._post(PositionEndEvent())

    @_guarded
    def accountSummary(self, reqId: int, account: str, tag: str, value: str, currency: str) -> None:
        self._post(AccountSummaryEvent(int(reqId), account, tag, value, currency))

    @_guarded
    def accountSummaryEnd(self, reqId: int) -> None:
        self._post(AccountSummaryEndEvent(int(reqId)))
