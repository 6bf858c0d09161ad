"""Historical bars: what a request asks for, what a bar is, and IB's rules for a request.

IB spells a bar size as "<n> <unit>" from a fixed list ("1 secs", "5 mins", "1 day") and a
duration as "<n> <S|D|W|M|Y>"; a duration allows only bars from a minimum size up (IB's table
"Valid Duration and Bar Size Settings"). The checks here run before anything reaches TWS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum

from .errors import InvalidArgument
from .model import Contract


class BarSource(Enum):
    """What a bar is built from (IB's whatToShow)."""

    TRADES = "TRADES"
    MIDPOINT = "MIDPOINT"
    BID = "BID"
    ASK = "ASK"
    BID_ASK = "BID_ASK"
    ADJUSTED_LAST = "ADJUSTED_LAST"
    HISTORICAL_VOLATILITY = "HISTORICAL_VOLATILITY"
    OPTION_IMPLIED_VOLATILITY = "OPTION_IMPLIED_VOLATILITY"


# IB's bar sizes, with their length in seconds.
BAR_SIZES: dict[str, int] = {
    "1 secs": 1,
    "5 secs": 5,
    "10 secs": 10,
    "15 secs": 15,
    "30 secs": 30,
    "1 min": 60,
    "2 mins": 120,
    "3 mins": 180,
    "5 mins": 300,
    "10 mins": 600,
    "15 mins": 900,
    "20 mins": 1200,
    "30 mins": 1800,
    "1 hour": 3600,
    "2 hours": 7200,
    "3 hours": 10800,
    "4 hours": 14400,
    "8 hours": 28800,
    "1 day": 86400,
    "1 week": 604800,
    "1 month": 2592000,
}
_UNIT_SECONDS = {"S": 1, "D": 86400, "W": 604800, "M": 2592000, "Y": 31536000}
# The longest duration IB accepts per unit.
_MAX_COUNT = {"S": 86400, "D": 365, "W": 52, "M": 12, "Y": 68}
# (longest duration in seconds, smallest bar in seconds it allows), in increasing order.
_SMALLEST_BAR = (
    (1800, 1),
    (3600, 5),
    (14400, 10),
    (28800, 30),
    (86400, 60),
    (2 * 86400, 120),
    (604800, 180),
    (2592000, 1800),
)
_DURATION = re.compile(r"([1-9][0-9]{0,5}) ([SDWMY])")


@dataclass(frozen=True)
class BarQuery:
    """One historical-data request: bars of `bar_size` over `duration` ending at `end`."""

    contract: Contract
    end: datetime | None  # None = now
    duration: str  # IB's spelling, e.g. "1 D"
    bar_size: str  # IB's spelling, e.g. "5 mins"
    source: BarSource = BarSource.TRADES
    regular_hours_only: bool = True

    @property
    def identity(self) -> tuple[object, ...]:
        """What makes two requests identical for IB's 15-second rule."""
        c = self.contract
        end = self.end.timestamp() if self.end is not None else None
        return (
            c.con_id,
            c.exchange,
            end,
            self.duration,
            self.bar_size,
            self.source,
            self.regular_hours_only,
        )

    @property
    def line(self) -> tuple[object, ...]:
        """Contract, exchange and tick type: IB's unit for six requests in two seconds."""
        return (self.contract.con_id, self.contract.exchange, self.source)


@dataclass(frozen=True)
class Bar:
    """One bar; prices, volume and WAP as decimals."""

    start_time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal | None
    wap: Decimal | None
    trade_count: int


@dataclass(frozen=True)
class BarSeries:
    """The answer to a BarQuery."""

    bars: tuple[Bar, ...]
    cached: bool = False  # answered from an identical request's result


def duration_seconds(field: str, duration: str) -> int:
    """The length of an IB duration, or InvalidArgument naming `field`."""
    m = _DURATION.fullmatch(duration)
    if m is None:
        raise InvalidArgument(field, f"{duration!r} is not a duration like '1 D' (S, D, W, M, Y)")
    count, unit = int(m.group(1)), m.group(2)
    if count > _MAX_COUNT[unit]:
        raise InvalidArgument(field, f"at most {_MAX_COUNT[unit]} {unit} in one request")
    return count * _UNIT_SECONDS[unit]


def bar_size_seconds(field: str, bar_size: str) -> int:
    seconds = BAR_SIZES.get(bar_size)
    if seconds is None:
        raise InvalidArgument(
            field, f"{bar_size!r} is not one of IB's bar sizes: " + ", ".join(BAR_SIZES)
        )
    return seconds


def check_query(duration: str, bar_size: str) -> None:
    """IB's rule: a duration allows only bars from a minimum size up (error 321 otherwise)."""
    length = duration_seconds("duration", duration)
    bar = bar_size_seconds("bar_size", bar_size)
    smallest = next((b for d, b in _SMALLEST_BAR if length <= d), 86400)
    if bar < smallest:
        raise InvalidArgument(
            "bar_size", f"IB does not serve bars under {smallest} s over {duration}"
        )
    if bar > max(length, 86400):
        raise InvalidArgument("bar_size", f"{bar_size} bars do not fit in {duration}")
