"""proto <-> domain for the data RPCs (historical and live bars, PnL, depth)."""

from __future__ import annotations

from datetime import UTC, datetime

from ibkr_broker.v1 import bars_pb2, feeds_pb2
from ibkr_broker.v1 import broker_service_pb2 as pb

from ..domain import history as h
from ..domain.errors import InvalidArgument
from ..domain.feeds import (
    DepthBook,
    DepthChange,
    DepthOperation,
    DepthRow,
    DepthSide,
    FeedStatus,
    LiveBar,
    LiveBarKind,
    PnlKey,
    PnlValue,
)
from ..domain.history import BarSource
from . import proto_convert as cv
from . import validate as v
from .proto_enums import SUBSCRIPTION_STATES

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


def bar_request_checked(
    msg: pb.GetHistoricalBarsRequest, now: datetime
) -> tuple[datetime | None, str, str, h.BarSource, bool]:
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


# --- live feeds --------------------------------------------------------------------------------


def feed_status_to_proto(s: FeedStatus) -> feeds_pb2.FeedStatus:
    key = s.key
    account = key.account if isinstance(key, PnlKey) else ""
    con_id = getattr(key, "con_id", 0)
    return feeds_pb2.FeedStatus(
        state=SUBSCRIPTION_STATES[s.state],
        error=cv.error_to_proto(s.error),
        account_id=account,
        con_id=con_id,
    )


def pnl_to_proto(p: PnlValue) -> feeds_pb2.ProfitAndLoss:
    return feeds_pb2.ProfitAndLoss(
        account_id=p.key.account,
        con_id=p.key.con_id,
        daily_pnl=cv._dec(p.daily),
        unrealized_pnl=cv._dec(p.unrealized),
        realized_pnl=cv._dec(p.realized),
        position=cv._dec(p.position),
        market_value=cv._dec(p.market_value),
        update_time=cv._ts(p.time),
    )


def live_bar_to_proto(con_id: int, b: LiveBar) -> feeds_pb2.LiveBar:
    return feeds_pb2.LiveBar(con_id=con_id, bar=bar_to_proto(b.bar), completed=b.completed)


DEPTH_SIDES = {DepthSide.ASK: feeds_pb2.DEPTH_SIDE_ASK, DepthSide.BID: feeds_pb2.DEPTH_SIDE_BID}
DEPTH_OPERATIONS = {
    DepthOperation.INSERT: feeds_pb2.DEPTH_OPERATION_INSERT,
    DepthOperation.UPDATE: feeds_pb2.DEPTH_OPERATION_UPDATE,
    DepthOperation.DELETE: feeds_pb2.DEPTH_OPERATION_DELETE,
}


def depth_row_to_proto(r: DepthRow) -> feeds_pb2.DepthRow:
    return feeds_pb2.DepthRow(
        price=cv._dec(r.price), size=cv._dec(r.size), market_maker=r.market_maker
    )


def depth_book_to_proto(b: DepthBook) -> feeds_pb2.DepthBook:
    return feeds_pb2.DepthBook(
        contract=cv.contract_to_proto(b.contract),
        asks=[depth_row_to_proto(r) for r in b.asks],
        bids=[depth_row_to_proto(r) for r in b.bids],
    )


def depth_change_to_proto(c: DepthChange) -> feeds_pb2.DepthChange:
    return feeds_pb2.DepthChange(
        side=DEPTH_SIDES[c.side],
        operation=DEPTH_OPERATIONS[c.operation],
        position=c.position,
        row=depth_row_to_proto(c.row),
    )


LIVE_BAR_KINDS = {
    feeds_pb2.LIVE_BAR_KIND_UNSPECIFIED: LiveBarKind.REAL_TIME,
    feeds_pb2.LIVE_BAR_KIND_REAL_TIME: LiveBarKind.REAL_TIME,
    feeds_pb2.LIVE_BAR_KIND_KEEP_UP_TO_DATE: LiveBarKind.KEEP_UP_TO_DATE,
}
REAL_TIME_SOURCES = frozenset({BarSource.TRADES, BarSource.MIDPOINT, BarSource.BID, BarSource.ASK})


def live_bar_terms(msg: pb.StreamBarsRequest) -> tuple[LiveBarKind, str, BarSource, bool]:
    """(kind, bar size, source, regular hours only), checked (InvalidArgument names the field)."""
    v.enum_value("kind", feeds_pb2.LiveBarKind, msg.kind, required=False)
    v.enum_value("source", bars_pb2.BarSource, msg.source, required=False)
    kind = LIVE_BAR_KINDS[msg.kind]
    source = BAR_SOURCES[msg.source]
    bar_size = v.text("bar_size", msg.bar_size, limit=16)
    if kind is LiveBarKind.REAL_TIME:
        if bar_size not in ("", "5 secs"):
            raise InvalidArgument("bar_size", "real-time bars are 5 seconds: leave it empty")
        if source not in REAL_TIME_SOURCES:
            raise InvalidArgument("source", "real-time bars take trades, midpoint, bid or ask")
        bar_size = "5 secs"
    else:
        if not bar_size:
            raise InvalidArgument("bar_size", "required for kept-up-to-date bars")
        h.bar_size_seconds("bar_size", bar_size)
    return kind, bar_size, source, not msg.include_outside_regular_hours
