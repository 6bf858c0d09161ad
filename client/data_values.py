"""Requests and dicts of the data calls (historical bars; later live bars, PnL, depth): pure,
no I/O, checked locally so a typo fails before any call."""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from ibkr_broker.v1 import bars_pb2, contract_pb2, feeds_pb2
from ibkr_broker.v1 import broker_service_pb2 as bs

from .wire_values import dec, subscription_state_name, time_of

BAR_SOURCES = {
    "trades": bars_pb2.BAR_SOURCE_TRADES,
    "midpoint": bars_pb2.BAR_SOURCE_MIDPOINT,
    "bid": bars_pb2.BAR_SOURCE_BID,
    "ask": bars_pb2.BAR_SOURCE_ASK,
    "bid_ask": bars_pb2.BAR_SOURCE_BID_ASK,
    "adjusted_last": bars_pb2.BAR_SOURCE_ADJUSTED_LAST,
    "historical_volatility": bars_pb2.BAR_SOURCE_HISTORICAL_VOLATILITY,
    "implied_volatility": bars_pb2.BAR_SOURCE_OPTION_IMPLIED_VOLATILITY,
}


def bar_source(value: str | int) -> bars_pb2.BarSource:
    """"trades", "midpoint", "bid", "ask", "bid_ask", "adjusted_last",
    "historical_volatility", "implied_volatility" (or a BarSource value)."""
    if isinstance(value, int):
        return value  # type: ignore[return-value]
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    if key not in BAR_SOURCES:
        raise ValueError(f"what must be one of {', '.join(BAR_SOURCES)}; got {value!r}")
    return BAR_SOURCES[key]


def historical_bars_request(
    contract: contract_pb2.Contract,
    duration: str,
    bar_size: str,
    end_time: dt.datetime | None = None,
    what: str | int = "trades",
    outside_rth: bool = False,
) -> bs.GetHistoricalBarsRequest:
    request = bs.GetHistoricalBarsRequest(
        contract=contract,
        duration=duration,
        bar_size=bar_size,
        source=bar_source(what),
        include_outside_regular_hours=outside_rth,
    )
    if end_time is not None:
        if end_time.tzinfo is None:
            raise ValueError("end_time must be an aware datetime (e.g. with tzinfo=UTC)")
        stamp = Timestamp()
        stamp.FromDatetime(end_time.astimezone(dt.UTC))
        request.end_time.CopyFrom(stamp)
    return request


def bar_to_dict(b: bars_pb2.Bar) -> dict[str, Any]:
    """{"time" (start, aware UTC), "open", "high", "low", "close", "volume", "wap" (Decimal or
    None), "count"}."""
    return {
        "time": time_of(b, "start_time"),
        "open": dec(b.open),
        "high": dec(b.high),
        "low": dec(b.low),
        "close": dec(b.close),
        "volume": dec(b.volume),
        "wap": dec(b.wap),
        "count": b.trade_count,
    }


# --- live streams ------------------------------------------------------------------------------

LIVE_BAR_KINDS = {
    "real_time": feeds_pb2.LIVE_BAR_KIND_REAL_TIME,
    "keep_up_to_date": feeds_pb2.LIVE_BAR_KIND_KEEP_UP_TO_DATE,
}


class RestartTracker:
    """A stream that simply starts again after a drop (bars, PnL, depth: each begins with what
    a late subscriber needs)."""

    def __init__(self, name: str, request: Message) -> None:
        self.name = name
        self._request = request

    def request(self) -> Message:
        return self._request

    def accept(self, message: Any) -> bool:
        return True

    def resume_point(self) -> int | None:
        return None


def stream_bars_request(
    contract: contract_pb2.Contract, bar_size: str = "", what: str | int = "trades",
    outside_rth: bool = False,
) -> bs.StreamBarsRequest:
    """Real-time 5-second bars when bar_size is "" (or "5 secs"), else bars of that size kept up
    to date."""
    kind = LIVE_BAR_KINDS["real_time" if bar_size in ("", "5 secs") else "keep_up_to_date"]
    return bs.StreamBarsRequest(
        contract=contract,
        kind=kind,
        bar_size="" if kind == feeds_pb2.LIVE_BAR_KIND_REAL_TIME else bar_size,
        source=bar_source(what),
        include_outside_regular_hours=outside_rth,
    )


def feed_status_to_dict(s: feeds_pb2.FeedStatus) -> dict[str, Any]:
    return {
        "state": subscription_state_name(s.state),
        "account": s.account_id or None,
        "con_id": s.con_id or None,
        "error": {"code": s.error.code, "message": s.error.message} if s.error.code else None,
    }


def pnl_to_dict(p: feeds_pb2.ProfitAndLoss) -> dict[str, Any]:
    """{"account", "con_id" (None for the account), "daily", "unrealized", "realized",
    "position", "market_value", "time"}."""
    return {
        "account": p.account_id,
        "con_id": p.con_id or None,
        "daily": dec(p.daily_pnl),
        "unrealized": dec(p.unrealized_pnl),
        "realized": dec(p.realized_pnl),
        "position": dec(p.position),
        "market_value": dec(p.market_value),
        "time": time_of(p, "update_time"),
    }


def _row(r: feeds_pb2.DepthRow) -> dict[str, Any]:
    return {"price": dec(r.price), "size": dec(r.size), "exchange": r.market_maker or None}


class DepthKeeper:
    """The book a depth stream describes, kept from its snapshots and changes."""

    def __init__(self) -> None:
        self.symbol = ""
        self.con_id = 0
        self.asks: list[dict[str, Any]] = []
        self.bids: list[dict[str, Any]] = []

    def apply(self, message: bs.StreamMarketDepthResponse) -> bool:
        """Take one stream message; True when the book changed."""
        if message.HasField("book"):
            book = message.book
            self.symbol, self.con_id = book.contract.symbol, book.contract.con_id
            self.asks = [_row(r) for r in book.asks]
            self.bids = [_row(r) for r in book.bids]
            return True
        if not message.HasField("updates"):
            return False
        for change in message.updates.changes:
            rows = self.asks if change.side == feeds_pb2.DEPTH_SIDE_ASK else self.bids
            p = change.position
            if change.operation == feeds_pb2.DEPTH_OPERATION_INSERT:
                rows.insert(p, _row(change.row))
            elif change.operation == feeds_pb2.DEPTH_OPERATION_UPDATE:
                rows[p] = _row(change.row)
            else:
                del rows[p]
        return True

    def to_dict(self) -> dict[str, Any]:
        return {"type": "book", "symbol": self.symbol, "con_id": self.con_id or None,
                "asks": [dict(r) for r in self.asks], "bids": [dict(r) for r in self.bids]}
