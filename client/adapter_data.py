"""IBKRAdapter's data methods (historical and live bars, PnL, market depth), mixed into it:
everything as plain dicts of Decimals and datetimes, streams as iterators of dicts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from . import contracts
from .broker_client import BrokerClient
from .data_values import DepthKeeper, bar_to_dict, feed_status_to_dict, pnl_to_dict
from .message_dicts import reconnected_to_dict
from .streams import StreamReconnected


class DataMethods:
    client: BrokerClient

    def _t(self, method: str) -> float | None:  # pragma: no cover - IBKRAdapter's
        raise NotImplementedError

    def bars(
        self,
        symbol: str,
        duration: str = "1 D",
        bar_size: str = "5 mins",
        *,
        end_time: dt.datetime | None = None,
        what: str = "trades",
        outside_rth: bool = False,
        sec_type: str = "STK",
        **fields: Any,
    ) -> list[dict[str, Any]]:
        """Historical bars, oldest first, as dicts {"time", "open", "high", "low", "close",
        "volume", "wap", "count"}: IB's duration ("1 D", "3600 S", "1 W") and bar size
        ("1 min", "5 mins", "1 hour", "1 day"); what: trades, midpoint, bid, ask, bid_ask, ..."""
        spec = contracts.contract(symbol, sec_type, **fields)
        response = self.client.historical_bars(
            spec,
            duration,
            bar_size,
            end_time=end_time,
            what=what,
            outside_rth=outside_rth,
            timeout=self._t("bars"),
        )
        return [bar_to_dict(b) for b in response.bars]

    get_historical_bars = bars

    def stream_bars(
        self, symbol: str, bar_size: str = "", *, what: str = "trades",
        outside_rth: bool = False, sec_type: str = "STK", **fields: Any,
    ) -> Iterator[dict[str, Any]]:
        """Live bars as dicts {"type": "bar", "symbol", "completed", "time", "open", ...}:
        5-second real-time bars (bar_size "") or bars of bar_size ("1 min") kept up to date;
        {"type": "status", ...} when IB ends or interrupts the subscription."""
        spec = contracts.contract(symbol, sec_type, **fields)
        stream = self.client.stream_bars(spec, bar_size, what=what, outside_rth=outside_rth)
        try:
            for item in stream:
                if isinstance(item, StreamReconnected):
                    yield reconnected_to_dict(item)
                elif item.HasField("bar"):
                    yield {"type": "bar", "symbol": symbol, "con_id": item.bar.con_id,
                           "completed": item.bar.completed, **bar_to_dict(item.bar.bar)}
                elif item.HasField("status"):
                    yield {"type": "status", **feed_status_to_dict(item.status)}
        finally:
            stream.close()

    def stream_pnl(
        self, accounts: Iterable[str] | str = (), *, positions: bool = False
    ) -> Iterator[dict[str, Any]]:
        """PnL as dicts {"type": "pnl", "account", "con_id" (None for the account), "daily",
        "unrealized", "realized", "position", "market_value", "time"} as it changes."""
        names = [accounts] if isinstance(accounts, str) else list(accounts)
        stream = self.client.stream_pnl(names, positions=positions)
        try:
            for item in stream:
                if isinstance(item, StreamReconnected):
                    yield reconnected_to_dict(item)
                elif item.HasField("pnl"):
                    yield {"type": "pnl", **pnl_to_dict(item.pnl)}
                elif item.HasField("status"):
                    yield {"type": "status", **feed_status_to_dict(item.status)}
        finally:
            stream.close()

    def stream_depth(
        self, symbol: str, rows: int = 10, *, sec_type: str = "STK", **fields: Any
    ) -> Iterator[dict[str, Any]]:
        """The live level-2 book: after each change {"type": "book", "symbol", "asks": [...],
        "bids": [...]} (rows {"price", "size", "exchange"}, best first); {"type": "status",
        ...} when IB refuses or ends it (state "depth_limit_reached": IB's limit)."""
        spec = contracts.contract(symbol, sec_type, **fields)
        keeper = DepthKeeper()
        stream = self.client.stream_market_depth(spec, rows)
        try:
            for item in stream:
                if isinstance(item, StreamReconnected):
                    yield reconnected_to_dict(item)
                elif item.HasField("status"):
                    yield {"type": "status", **feed_status_to_dict(item.status)}
                elif keeper.apply(item):
                    yield keeper.to_dict()
        finally:
            stream.close()
