"""reqHistoricalData: parse IB's duration / bar size / end time and format bars."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .market import Bar
from .model import HistoricalBar
from .sessions import Schedule
from .sessions import format_bar_time as session_bar_time

MAX_BARS = 2000

_UNIT_SECONDS = {"S": 1, "D": 86_400, "W": 7 * 86_400, "M": 30 * 86_400, "Y": 365 * 86_400}
_BAR_UNITS = {"sec": 1, "secs": 1, "min": 60, "mins": 60, "hour": 3600, "hours": 3600,
              "day": 86_400, "days": 86_400, "week": 7 * 86_400, "weeks": 7 * 86_400,
              "month": 30 * 86_400, "months": 30 * 86_400}


class HistoryError(ValueError):
    pass


def parse_duration(text: str) -> tuple[int, str]:
    """IB's duration "N S|D|W|M|Y" as (N, unit)."""
    m = re.fullmatch(r"\s*(\d+)\s*([SDWMY])\s*", text.upper())
    if not m or int(m.group(1)) <= 0:
        raise HistoryError(f"invalid duration {text!r}")
    return int(m.group(1)), m.group(2)


def duration_seconds(text: str) -> int:
    amount, unit = parse_duration(text)
    return amount * _UNIT_SECONDS[unit]


def bar_seconds(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+)\s*([a-z]+)\s*", text.lower())
    if not m or m.group(2) not in _BAR_UNITS:
        raise HistoryError(f"invalid bar size {text!r}")
    return int(m.group(1)) * _BAR_UNITS[m.group(2)]


def end_epoch(text: str, now: int) -> int:
    """"" = now; "yyyymmdd hh:mm:ss[ zone]" (an IANA or IB zone name; none = UTC),
    "yyyymmdd-hh:mm:ss" (UTC) or "yyyymmdd" (its midnight, UTC)."""
    t = text.strip()
    if not t:
        return now
    t = t.replace("-", " ", 1)
    parts = t.split()
    zone: dt.tzinfo = dt.UTC
    if len(parts) > 2:
        try:
            zone = ZoneInfo(parts[2])
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise HistoryError(f"invalid time zone in end date {text!r}") from exc
    try:
        stamp = dt.datetime.strptime(" ".join(parts[:2]), "%Y%m%d %H:%M:%S")
    except ValueError:
        try:
            stamp = dt.datetime.strptime(parts[0], "%Y%m%d")
        except ValueError as exc:
            raise HistoryError(f"invalid end date {text!r}") from exc
    return int(stamp.replace(tzinfo=zone).timestamp())


def format_bar_time(epoch: int, bar_secs: int, format_date: int) -> str:
    if format_date == 2:
        return str(epoch)
    stamp = dt.datetime.fromtimestamp(epoch, dt.UTC)
    if bar_secs >= 86_400:
        return stamp.strftime("%Y%m%d")
    return stamp.strftime("%Y%m%d %H:%M:%S") + " UTC"


def to_historical(bars: list[Bar], bar_secs: int, format_date: int,
                  schedule: Schedule | None = None) -> list[HistoricalBar]:
    """Bars as historicalData rows; with a schedule, times as TWS writes them in the
    instrument's time zone (sessions.format_bar_time), else in UTC."""
    daily = bar_secs >= 86_400

    def date(epoch: int) -> str:
        if schedule is None:
            return format_bar_time(epoch, bar_secs, format_date)
        return session_bar_time(epoch, schedule, daily, format_date)

    return [HistoricalBar(date=date(b.time), open=b.open, high=b.high, low=b.low, close=b.close,
                          volume=b.volume, wap=b.wap, count=b.count) for b in bars]


def range_text(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y%m%d %H:%M:%S") + " UTC"


def bar_count(duration: str, bar_size: str) -> tuple[int, int]:
    """(number of bars, seconds per bar), capped at MAX_BARS."""
    d = duration_seconds(duration)
    b = bar_seconds(bar_size)
    return max(1, min(MAX_BARS, d // b)), b
