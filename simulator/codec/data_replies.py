"""Text-era replies of the data feeds (per-position PnL, 5-second bars, market depth), in the
layouts of server version 178; re-exported by ``responses``. Pure: no I/O."""

from __future__ import annotations

from decimal import Decimal

from .ids import Out
from .wire import encode_fields
from .wire import format_number as num

Number = Decimal | int | float
_UNSET_DOUBLE = "1.7976931348623157E308"


def _or(v: Number | None) -> str:
    return _UNSET_DOUBLE if v is None else num(v)


def pnl_single(req_id: int, position: Number, daily: Number | None, unrealized: Number | None,
               realized: Number | None, value: Number | None) -> bytes:
    """pnlSingle (95), the reqPnLSingle reply, no version; None is sent as UNSET_DOUBLE."""
    return encode_fields((Out.PNL_SINGLE, req_id, num(position), _or(daily), _or(unrealized),
                          _or(realized), _or(value)))


def real_time_bar(req_id: int, time: int, open_: Number, high: Number, low: Number,
                  close: Number, volume: Number, wap: Number, count: int) -> bytes:
    """realtimeBar (50), version 3."""
    return encode_fields((Out.REAL_TIME_BARS, 3, req_id, time, num(open_), num(high), num(low),
                          num(close), num(volume), num(wap), count))


def market_depth(req_id: int, position: int, operation: int, side: int, price: Number,
                 size: Number) -> bytes:
    """updateMktDepth (12), version 1: operation 0 insert, 1 update, 2 delete; side 0 ask,
    1 bid."""
    return encode_fields((Out.MARKET_DEPTH, 1, req_id, position, operation, side, num(price),
                          num(size)))


def market_depth_l2(req_id: int, position: int, market_maker: str, operation: int, side: int,
                    price: Number, size: Number, is_smart_depth: bool) -> bytes:
    """updateMktDepthL2 (13), version 1, with the exchange (or market maker) of the row."""
    return encode_fields((Out.MARKET_DEPTH_L2, 1, req_id, position, market_maker, operation,
                          side, num(price), num(size), int(is_smart_depth)))
