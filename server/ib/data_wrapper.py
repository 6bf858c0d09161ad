"""The EWrapper callbacks of the data feeds (historical bars, live bars, PnL, depth), mixed
into `EventWrapper`; also `guarded`, the decorator every callback wears. Each callback copies
its arguments into an immutable event and posts it."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import tzinfo
from typing import Any, TypeVar

from ..domain.feeds import DepthChange, DepthOperation, DepthRow, DepthSide
from ..session.ib_port import (
    DepthEvent,
    HistoricalBarEvent,
    HistoricalBarsEndEvent,
    HistoricalBarUpdateEvent,
    IbEvent,
    PnlEvent,
    PnlSingleEvent,
    RealTimeBarEvent,
)
from . import bars_convert
from . import ibapi_convert as convert

logger = logging.getLogger("ibkr_broker.server.ib.wrapper")

F = TypeVar("F", bound=Callable[..., None])


def guarded(method: F) -> F:
    """Log and swallow any exception of a callback: ibapi must never see one."""

    @functools.wraps(method)
    def guard(self: Any, *args: Any) -> None:
        try:
            method(self, *args)
        except Exception:
            logger.exception("ibapi callback %s failed; its event is dropped", method.__name__)

    return guard  # type: ignore[return-value]


class DataCallbacks:
    """Callbacks for EventWrapper, which provides `_post` and `_tws_tz`."""

    _tws_tz: tzinfo
    _post: Callable[[IbEvent], None]

    @guarded
    def historicalData(self, reqId: int, bar: Any) -> None:
        self._post(HistoricalBarEvent(int(reqId), bars_convert.bar_from_ib(bar, self._tws_tz)))

    @guarded
    def historicalDataEnd(self, reqId: int, start: str, end: str) -> None:
        self._post(HistoricalBarsEndEvent(int(reqId)))

    @guarded
    def historicalDataUpdate(self, reqId: int, bar: Any) -> None:
        self._post(
            HistoricalBarUpdateEvent(int(reqId), bars_convert.bar_from_ib(bar, self._tws_tz))
        )

    @guarded
    def realtimeBar(
        self,
        reqId: int,
        time: int,
        open_: float,
        high: float,
        low: float,
        close: float,
        volume: Any,
        wap: Any,
        count: int,
    ) -> None:
        bar = bars_convert.real_time_bar_from_ib(time, open_, high, low, close, volume, wap, count)
        self._post(RealTimeBarEvent(int(reqId), bar))

    @guarded
    def pnl(self, reqId: int, dailyPnL: float, unrealizedPnL: float, realizedPnL: float) -> None:
        f = convert.float_to_decimal
        self._post(PnlEvent(int(reqId), f(dailyPnL), f(unrealizedPnL), f(realizedPnL)))

    @guarded
    def pnlSingle(
        self,
        reqId: int,
        pos: Any,
        dailyPnL: float,
        unrealizedPnL: float,
        realizedPnL: float,
        value: float,
    ) -> None:
        f = convert.float_to_decimal
        self._post(
            PnlSingleEvent(
                int(reqId),
                convert.decimal_or_none(pos),
                f(dailyPnL),
                f(unrealizedPnL),
                f(realizedPnL),
                f(value),
            )
        )

    @guarded
    def updateMktDepth(
        self, reqId: int, position: int, operation: int, side: int, price: float, size: Any
    ) -> None:
        self._depth(reqId, position, "", operation, side, price, size)

    @guarded
    def updateMktDepthL2(
        self,
        reqId: int,
        position: int,
        marketMaker: str,
        operation: int,
        side: int,
        price: float,
        size: Any,
        isSmartDepth: bool,
    ) -> None:
        self._depth(reqId, position, marketMaker, operation, side, price, size)

    def _depth(
        self,
        req_id: int,
        position: int,
        maker: str,
        operation: int,
        side: int,
        price: float,
        size: Any,
    ) -> None:
        row = DepthRow(
            convert.decimal_or_zero(price), convert.decimal_or_zero(size), str(maker or "")
        )
        change = DepthChange(
            DepthSide(int(side)), DepthOperation(int(operation)), int(position), row
        )
        self._post(DepthEvent(int(req_id), change))
