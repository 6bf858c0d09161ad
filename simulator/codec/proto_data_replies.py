"""Protobuf-era twins of ``data_replies`` (same signatures); re-exported by ``proto_replies``.
Pure: no I/O."""

from __future__ import annotations

from decimal import Decimal

from ibapi.protobuf import (
    MarketDepth_pb2,
    MarketDepthData_pb2,
    MarketDepthL2_pb2,
    PnLSingle_pb2,
    RealTimeBarTick_pb2,
)

from .ids import Out
from .proto_order_replies import frame
from .wire import format_number as num

Number = Decimal | int | float


def pnl_single(req_id: int, position: Number, daily: Number | None, unrealized: Number | None,
               realized: Number | None, value: Number | None) -> bytes:
    """pnlSingle (95); None is left out (ibapi reads UNSET_DOUBLE, as from the text era)."""
    msg = PnLSingle_pb2.PnLSingle(reqId=req_id, position=num(position))
    for name, v in (("dailyPnL", daily), ("unrealizedPnL", unrealized),
                    ("realizedPnL", realized), ("value", value)):
        if v is not None:
            setattr(msg, name, float(v))
    return frame(Out.PNL_SINGLE, msg)


def real_time_bar(req_id: int, time: int, open_: Number, high: Number, low: Number,
                  close: Number, volume: Number, wap: Number, count: int) -> bytes:
    msg = RealTimeBarTick_pb2.RealTimeBarTick(
        reqId=req_id, time=time, open=float(open_), high=float(high), low=float(low),
        close=float(close), volume=num(volume), WAP=num(wap), count=count)
    return frame(Out.REAL_TIME_BARS, msg)


def market_depth(req_id: int, position: int, operation: int, side: int, price: Number,
                 size: Number) -> bytes:
    data = MarketDepthData_pb2.MarketDepthData(position=position, operation=operation,
                                               side=side, price=float(price), size=num(size))
    return frame(Out.MARKET_DEPTH, MarketDepth_pb2.MarketDepth(reqId=req_id, marketDepthData=data))


def market_depth_l2(req_id: int, position: int, market_maker: str, operation: int, side: int,
                    price: Number, size: Number, is_smart_depth: bool) -> bytes:
    data = MarketDepthData_pb2.MarketDepthData(
        position=position, marketMaker=market_maker, operation=operation, side=side,
        price=float(price), size=num(size), isSmartDepth=is_smart_depth)
    return frame(Out.MARKET_DEPTH_L2,
                 MarketDepthL2_pb2.MarketDepthL2(reqId=req_id, marketDepthData=data))
