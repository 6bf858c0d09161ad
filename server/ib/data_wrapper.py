"""The EWrapper callbacks of the data feeds (historical bars, live bars, PnL, depth), mixed
into `EventWrapper`; also `guarded`, the decorator every callback wears. Each callback copies
its arguments into an immutable event and posts it."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import tzinfo
from typing import Any, TypeVar

from ..session.ib_port import HistoricalBarEvent, HistoricalBarsEndEvent, IbEvent
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
        self._post(HistoricalBarEvent(int(reqId), convert.bar_from_ib(bar, self._tws_tz)))

    @guarded
    def historicalDataEnd(self, reqId: int, start: str, end: str) -> None:
        self._post(HistoricalBarsEndEvent(int(reqId)))
