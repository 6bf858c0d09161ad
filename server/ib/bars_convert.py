"""Pure converters of bars between ibapi and the domain (historical, kept up to date and
real-time bars); floats only on the ibapi side, as in ibapi_convert."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

from ..domain.history import Bar
from .ibapi_convert import decimal_or_none, decimal_or_zero, int_or_none, parse_ib_time


def end_time_to_ib(end: datetime | None) -> str:
    """A bar request's end as IB's UTC spelling ("yyyymmdd-hh:mm:ss"); "" = now."""
    return "" if end is None else end.astimezone(UTC).strftime("%Y%m%d-%H:%M:%S")


def bar_time_from_ib(text: str, default_tz: tzinfo = UTC) -> datetime:
    """A bar's time: epoch seconds (formatDate 2), "yyyymmdd" (daily bars) or IB's local time."""
    t = text.strip()
    if t.isdigit() and len(t) != 8:
        return datetime.fromtimestamp(int(t), UTC)
    if t.isdigit():
        return datetime(int(t[:4]), int(t[4:6]), int(t[6:8]), tzinfo=UTC)
    return parse_ib_time(t, default_tz)


def bar_from_ib(bar: Any, default_tz: tzinfo = UTC) -> Bar:
    """ibapi's BarData as a Bar."""
    return Bar(
        start_time=bar_time_from_ib(str(bar.date), default_tz),
        open=decimal_or_zero(bar.open),
        high=decimal_or_zero(bar.high),
        low=decimal_or_zero(bar.low),
        close=decimal_or_zero(bar.close),
        volume=decimal_or_none(bar.volume),
        wap=decimal_or_none(bar.wap),
        trade_count=int_or_none(bar.barCount) or 0,
    )


def real_time_bar_from_ib(
    time: int,
    open_: float,
    high: float,
    low: float,
    close: float,
    volume: Any,
    wap: Any,
    count: int,
) -> Bar:
    """realtimeBar's values as a Bar (the time is the bar's start, epoch seconds)."""
    return Bar(
        start_time=datetime.fromtimestamp(int(time), UTC),
        open=decimal_or_zero(open_),
        high=decimal_or_zero(high),
        low=decimal_or_zero(low),
        close=decimal_or_zero(close),
        volume=_non_negative(decimal_or_none(volume)),
        wap=_non_negative(decimal_or_none(wap)),
        trade_count=int_or_none(count) or 0,
    )


def _non_negative(value: Decimal | None) -> Decimal | None:
    """IB sends -1 for a volume or WAP it does not have (e.g. midpoint bars)."""
    return None if value is None or value < 0 else value
