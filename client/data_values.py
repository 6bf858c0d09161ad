"""Requests and dicts of the data calls (historical bars; later live bars, PnL, depth): pure,
no I/O, checked locally so a typo fails before any call."""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from ibkr_broker.v1 import bars_pb2, contract_pb2
from ibkr_broker.v1 import broker_service_pb2 as bs

from .wire_values import dec, time_of

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
