"""proto <-> domain for the data RPCs (historical and live bars, PnL, depth)."""

from __future__ import annotations

from datetime import UTC, datetime

from ibkr_broker.v1 import bars_pb2
from ibkr_broker.v1 import broker_service_pb2 as pb

from ..domain import history as h
from ..domain.errors import InvalidArgument
from . import proto_convert as cv
from . import validate as v

BAR_SOURCES = {
    bars_pb2.BAR_SOURCE_UNSPECIFIED: h.BarSource.TRADES,
    bars_pb2.BAR_SOURCE_TRADES: h.BarSource.TRADES,
    bars_pb2.BAR_SOURCE_MIDPOINT: h.BarSource.MIDPOINT,
    bars_pb2.BAR_SOURCE_BID: h.BarSource.BID,
    bars_pb2.BAR_SOURCE_ASK: h.BarSource.ASK,
    bars_pb2.BAR_SOURCE_BID_ASK: h.BarSource.BID_ASK,
    bars_pb2.BAR_SOURCE_ADJUSTED_LAST: h.BarSource.ADJUSTED_LAST,
    bars_pb2.BAR_SOURCE_HISTORICAL_VOLATILITY: h.BarSource.HISTORICAL_VOLATILITY,
    bars_pb2.BAR_SOURCE_OPTION_IMPLIED_VOLATILITY: h.BarSource.OPTION_IMPLIED_VOLATILITY,
}


def end_time_from_proto(msg: pb.GetHistoricalBarsRequest, now: datetime) -> datetime | None:
    if not msg.HasField("end_time"):
        return None
    try:
        end: datetime = msg.end_time.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidArgument("end_time", "not a valid time") from None
    if end > now:
        raise InvalidArgument("end_time", f"{end.isoformat()} is in the future")
    return end


def bar_request_checked(msg: pb.GetHistoricalBarsRequest, now: datetime) -> tuple[
    datetime | None, str, str, h.BarSource, bool
]:
    """The request's terms, checked against IB's rules (InvalidArgument names the field)."""
    end = end_time_from_proto(msg, now)
    duration = v.text("duration", msg.duration, required=True, limit=16)
    bar_size = v.text("bar_size", msg.bar_size, required=True, limit=16)
    h.check_query(duration, bar_size)
    v.enum_value("source", bars_pb2.BarSource, msg.source, required=False)
    source = BAR_SOURCES[msg.source]
    return end, duration, bar_size, source, not msg.include_outside_regular_hours


def bar_to_proto(b: h.Bar) -> bars_pb2.Bar:
    return bars_pb2.Bar(
        start_time=cv._ts(b.start_time),
        open=cv._dec(b.open),
        high=cv._dec(b.high),
        low=cv._dec(b.low),
        close=cv._dec(b.close),
        volume=cv._dec(b.volume),
        wap=cv._dec(b.wap),
        trade_count=b.trade_count,
    )
