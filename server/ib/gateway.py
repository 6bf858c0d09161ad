"""`IbGateway`: the session's `Gateway` over ibapi's EClient (encoders) and Decoder.

Connect: `handshake()` (connection.py) opens the socket and exchanges versions on the event loop
under one deadline; then an `EClient` is pointed at the new `Link` and sends startApi, and the
link's reader and decoder threads start. Readiness (NextValidIdEvent, ManagedAccountsEvent)
follows as events. Every established connection ends with exactly one `ConnectionClosedEvent`,
delivered after the events of that connection; nothing of that connection is delivered after it.

Send methods run on the event loop and only write to the socket (`Link.sendMsg`, one lock, a
send deadline). They raise `Unavailable` when there is no connection or the write fails, and
surface the client-side errors ibapi reports while encoding (for example a non-ASCII symbol)
as exceptions instead of error events.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, tzinfo
from typing import Any

from ibapi.client import EClient
from ibapi.errors import FA_PROFILE_NOT_SUPPORTED, INVALID_SYMBOL, NOT_CONNECTED, UPDATE_TWS
from ibapi.execution import ExecutionFilter
from ibapi.order_cancel import OrderCancel

from ..domain.errors import BrokerError, InvalidArgument, Unavailable
from ..domain.history import BarQuery, BarSource
from ..domain.model import Contract, MarketDataType
from ..session.ib_port import ConnectionClosedEvent, EventSink, IbEvent, IbOrderRequest
from . import bars_convert
from . import ibapi_convert as convert
from .connection import Handshake, Link, handshake
from .decoding import BridgeDecoder
from .ticks import TickDecoder
from .versions import OFFERED_MIN, PROVEN_MAX_SERVER_VERSION, check_max_server_version, era_name
from .wrapper import MAX_HELD, EventWrapper

logger = logging.getLogger(__name__)


def _drop(event: IbEvent) -> None:
    logger.debug("no event sink; dropped %s", type(event).__name__)


class _SendErrors:
    """Stands in for EClient's wrapper: records the errors ibapi reports while encoding/sending.

    EClient calls only `error` on it (we never use EClient.connect/disconnect/run).
    """

    def __init__(self) -> None:
        self.errors: list[tuple[int, str]] = []

    def error(
        self,
        reqId: int,
        errorTime: int,
        errorCode: int,
        errorString: str,
        advancedOrderRejectJson: str = "",
    ) -> None:
        self.errors.append((int(errorCode), str(errorString)))

    def connectAck(self) -> None:
        pass

    def connectionClosed(self) -> None:
        pass


class IbGateway:
    """The session's `IbPort` over one ibapi connection at a time."""

    def __init__(
        self,
        *,
        send_timeout: float = 5.0,
        disconnect_timeout: float = 5.0,
        tws_time_zone: tzinfo = UTC,
        queue_batches: int = 64,
        max_server_version: int = PROVEN_MAX_SERVER_VERSION,
    ) -> None:
        self._sink: EventSink = _drop
        self._max_server_version = check_max_server_version(max_server_version)
        self._send_timeout = send_timeout
        self._disconnect_timeout = disconnect_timeout
        self._tws_tz = tws_time_zone
        self._queue_batches = queue_batches
        self._server_version = 0
        self._link: Link | None = None
        self._last_link: Link | None = None  # the newest link, also after it ended
        self._client: Any = None  # ibapi EClient of the open link
        self._send_errors = _SendErrors()
        self._pending: asyncio.Task[Handshake] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ended_decode_errors = 0  # of links that ended

    # --- IbPort: connection -------------------------------------------------------------------

    @property
    def server_version(self) -> int:
        return self._server_version

    @property
    def max_server_version(self) -> int:
        """The highest server version offered in the handshake."""
        return self._max_server_version

    @property
    def is_connected(self) -> bool:
        return self._link is not None and self._link.isConnected()

    @property
    def decode_errors(self) -> int:
        """Messages from TWS that failed to decode, over every link so far (for metrics)."""
        current = self._last_link.decode_errors if self._last_link is not None else 0
        return self._ended_decode_errors + current

    @property
    def link(self) -> Link | None:
        """The open link (for diagnostics and tests)."""
        return self._link

    def set_event_sink(self, sink: EventSink) -> None:
        self._sink = sink

    async def connect(self, host: str, port: int, client_id: int, timeout: float) -> None:
        if self._link is not None:
            raise BrokerError("already connected to TWS; disconnect first")
        if self._pending is not None:
            raise BrokerError("a connect to TWS is already in progress")
        loop = asyncio.get_running_loop()
        self._loop = loop
        task = loop.create_task(handshake(host, port, timeout, self._max_server_version))
        self._pending = task
        try:
            shake = await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and current is not None and not current.cancelling():
                raise Unavailable("connect aborted by disconnect()") from None
            raise
        finally:
            self._pending = None
        self._open(loop, shake, host, port, client_id)

    def _open(
        self, loop: asyncio.AbstractEventLoop, shake: Handshake, host: str, port: int, cid: int
    ) -> None:
        try:
            link = Link(
                shake,
                self._on_link_end,
                name=f"ib-{cid}",
                send_timeout=self._send_timeout,
                queue_batches=self._queue_batches,
            )
        except OSError as exc:
            shake.sock.close()
            raise Unavailable(f"cannot set up the TWS socket: {exc}") from exc
        wrapper = EventWrapper(
            loop,
            functools.partial(self._on_link_event, link),
            self._tws_tz,
            deliver_burst=functools.partial(self._on_link_events, link),
        )
        link.decoder = BridgeDecoder(wrapper, shake.server_version)
        link.bursts = wrapper
        link.fast = TickDecoder(shake.server_version, wrapper.post_ticks, MAX_HELD)
        client = EClient(self._send_errors)
        client.host, client.port, client.clientId = host, port, cid
        client.conn = link
        client.serverVersion_ = shake.server_version
        client.connTime = shake.connection_time
        client.setConnState(EClient.CONNECTED)
        self._send_errors.errors.clear()
        client.startApi()
        if self._send_errors.errors or not link.isConnected():
            code, message = (self._send_errors.errors or [(0, link.reason)])[0]
            link.close_unstarted(f"startApi failed: {message}")
            raise Unavailable(f"could not start the TWS API session: {message}", ib_code=code)
        try:
            link.start()
        except RuntimeError as exc:  # cannot start a thread
            link.close_unstarted(f"cannot start the reader threads: {exc}")
            raise Unavailable(f"cannot start the TWS reader threads: {exc}") from exc
        if self._last_link is not None:
            self._ended_decode_errors += self._last_link.decode_errors
        self._link, self._last_link, self._client = link, link, client
        self._server_version = shake.server_version
        logger.info(
            "connected to TWS at %s:%d (client id %d, server version %d, %s, offered %d..%d, "
            "time %s)",
            host,
            port,
            cid,
            shake.server_version,
            era_name(shake.server_version),
            OFFERED_MIN,
            self._max_server_version,
            shake.connection_time,
        )

    async def disconnect(self) -> None:
        pending = self._pending
        if pending is not None:  # a connect in its handshake: abort it, its socket is closed
            pending.cancel()
            await asyncio.wait({pending}, timeout=self._disconnect_timeout)
        link = self._link or self._last_link
        if link is None:
            return
        link.close("disconnect requested")  # no-op when it already ended
        try:
            await asyncio.wait_for(link.ended.wait(), self._disconnect_timeout)
        except TimeoutError:
            logger.warning("TWS link threads did not finish within %ss", self._disconnect_timeout)
            self._link_ended(link)
        if not link.join(1.0):
            logger.warning("TWS link threads still running after disconnect")

    # --- events from the link's threads --------------------------------------------------------

    def _on_link_event(self, link: Link, event: IbEvent) -> None:
        """On the loop: one event of `link` (from a thread that does not hold its events)."""
        self._on_link_events(link, (event,))

    def _on_link_events(self, link: Link, events: Sequence[IbEvent]) -> None:
        """On the loop: forward events of `link`, in order, unless that link already ended."""
        for event in events:
            if link.end_delivered:
                return
            if isinstance(event, ConnectionClosedEvent):  # only ibapi itself would report this
                link.close(event.reason)
                continue
            try:
                self._sink(event)
            except Exception:
                logger.exception("event sink failed on %s", type(event).__name__)

    def _on_link_end(self, link: Link) -> None:
        """On the decoder thread, as its last act."""
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self._link_ended, link)
        except RuntimeError:
            logger.debug("event loop closed; TWS link end not delivered")

    def _link_ended(self, link: Link) -> None:
        """On the loop: deliver the one ConnectionClosedEvent of `link`."""
        if link.end_delivered:
            return
        link.end_delivered = True
        if self._link is link:
            self._link, self._client = None, None
        link.ended.set()
        try:
            self._sink(ConnectionClosedEvent(link.reason or "connection closed"))
        except Exception:
            logger.exception("event sink failed on ConnectionClosedEvent")

    # --- sending -------------------------------------------------------------------------------

    def _send(self, send: Callable[[Any], None]) -> None:
        link, client = self._link, self._client
        if link is None or client is None or not link.isConnected():
            raise Unavailable("not connected to TWS")
        errors = self._send_errors.errors
        errors.clear()
        try:
            send(client)
        except OSError as exc:  # ibapi reports send failures as errors; this is a safety net
            raise Unavailable(f"TWS connection lost while sending: {exc}") from exc
        if not errors:
            return
        code, message = errors[0]
        errors.clear()
        if not link.isConnected() or code == NOT_CONNECTED.code():
            raise Unavailable(f"TWS connection lost while sending: {message}", ib_code=code)
        if code == INVALID_SYMBOL.code():
            raise InvalidArgument("request", message)
        if code in (UPDATE_TWS.code(), FA_PROFILE_NOT_SUPPORTED.code()):
            raise BrokerError(f"TWS does not support this request: {message}", ib_code=code)
        raise BrokerError(message, ib_code=code)

    def req_ids(self) -> None:
        self._send(lambda c: c.reqIds(-1))

    def req_current_time(self) -> None:
        self._send(lambda c: c.reqCurrentTime())

    def req_contract_details(self, req_id: int, contract: Contract) -> None:
        ib_contract = convert.contract_to_ib(contract)
        self._send(lambda c: c.reqContractDetails(req_id, ib_contract))

    def req_sec_def_opt_params(
        self, req_id: int, symbol: str, security_type: str, con_id: int
    ) -> None:
        self._send(lambda c: c.reqSecDefOptParams(req_id, symbol, "", security_type, con_id))

    def req_market_data_type(self, market_data_type: MarketDataType) -> None:
        self._send(lambda c: c.reqMarketDataType(market_data_type.value))

    def req_mkt_data(self, req_id: int, contract: Contract, snapshot: bool) -> None:
        ib_contract = convert.contract_to_ib(contract)
        self._send(lambda c: c.reqMktData(req_id, ib_contract, "", snapshot, False, []))

    def cancel_mkt_data(self, req_id: int) -> None:
        self._send(lambda c: c.cancelMktData(req_id))

    def place_order(self, ib_order_id: int, contract: Contract, order: IbOrderRequest) -> None:
        ib_contract = convert.contract_to_ib(contract)
        ib_order = convert.order_to_ib(order)
        self._send(lambda c: c.placeOrder(ib_order_id, ib_contract, ib_order))

    def cancel_order(self, ib_order_id: int) -> None:
        self._send(lambda c: c.cancelOrder(ib_order_id, OrderCancel()))

    def req_global_cancel(self) -> None:
        self._send(lambda c: c.reqGlobalCancel(OrderCancel()))

    def req_open_orders(self) -> None:
        self._send(lambda c: c.reqOpenOrders())

    def req_executions(self, req_id: int) -> None:
        self._send(lambda c: c.reqExecutions(req_id, ExecutionFilter()))

    def req_account_updates(self, subscribe: bool, account: str) -> None:
        self._send(lambda c: c.reqAccountUpdates(subscribe, account))

    def req_positions(self) -> None:
        self._send(lambda c: c.reqPositions())

    def req_account_summary(self, req_id: int, tags: str) -> None:
        self._send(lambda c: c.reqAccountSummary(req_id, "All", tags))

    def cancel_account_summary(self, req_id: int) -> None:
        self._send(lambda c: c.cancelAccountSummary(req_id))

    def req_historical_data(
        self, req_id: int, query: BarQuery, keep_up_to_date: bool = False
    ) -> None:
        ib_contract = convert.contract_to_ib(query.contract)
        end = "" if keep_up_to_date else bars_convert.end_time_to_ib(query.end)
        self._send(
            lambda c: c.reqHistoricalData(
                req_id,
                ib_contract,
                end,
                query.duration,
                query.bar_size,
                query.source.value,
                1 if query.regular_hours_only else 0,
                2,  # formatDate 2: bar times as epoch seconds
                keep_up_to_date,
                [],
            )
        )

    def cancel_historical_data(self, req_id: int) -> None:
        self._send(lambda c: c.cancelHistoricalData(req_id))

    def req_real_time_bars(
        self, req_id: int, contract: Contract, source: BarSource, regular_hours_only: bool
    ) -> None:
        ib_contract = convert.contract_to_ib(contract)
        rth = bool(regular_hours_only)
        self._send(lambda c: c.reqRealTimeBars(req_id, ib_contract, 5, source.value, rth, []))

    def cancel_real_time_bars(self, req_id: int) -> None:
        self._send(lambda c: c.cancelRealTimeBars(req_id))

    def req_pnl(self, req_id: int, account: str) -> None:
        self._send(lambda c: c.reqPnL(req_id, account, ""))

    def cancel_pnl(self, req_id: int) -> None:
        self._send(lambda c: c.cancelPnL(req_id))

    def req_pnl_single(self, req_id: int, account: str, con_id: int) -> None:
        self._send(lambda c: c.reqPnLSingle(req_id, account, "", con_id))

    def cancel_pnl_single(self, req_id: int) -> None:
        self._send(lambda c: c.cancelPnLSingle(req_id))

    def req_mkt_depth(self, req_id: int, contract: Contract, rows: int, smart: bool) -> None:
        ib_contract = convert.contract_to_ib(contract)
        self._send(lambda c: c.reqMktDepth(req_id, ib_contract, rows, smart, []))

    def cancel_mkt_depth(self, req_id: int, smart: bool) -> None:
        self._send(lambda c: c.cancelMktDepth(req_id, smart))
