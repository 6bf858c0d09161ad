"""Trading sessions: when an instrument trades, for historical bars and contract details.

Each kind of instrument has a schedule in its exchange's time zone with one regular (liquid)
and one extended (trading) session per trade date, Monday to Friday; no session on weekends
(holidays are not modelled). A session may open the evening before its trade date (futures and
forex, which trade round the clock from Sunday evening to Friday afternoon). Minutes are counted
from the trade date's local midnight, so -420 is 17:00 the day before.

Historical bars follow the schedule as TWS does: useRTH=1 keeps the regular session, 0 the
extended one; a duration in days ("2 D") is that many trade dates back from the end, others
("3600 S", "1 W", "1 M", "1 Y") a time window; intraday bars start at the session's open and
then on the bar grid of the local day; daily bars are one per trade date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

DAY = 86_400


@dataclass(frozen=True)
class Schedule:
    time_zone_id: str  # IB's timeZoneId in contract details
    iana: str  # the same zone for the computations
    regular: tuple[int, int]  # (open, close) in minutes from the trade date's local midnight
    extended: tuple[int, int]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.iana)

    def window(self, trade_date: dt.date, use_rth: bool) -> tuple[int, int]:
        """The session of `trade_date` as (open, close) epoch seconds."""
        start, stop = self.regular if use_rth else self.extended
        midnight = dt.datetime.combine(trade_date, dt.time(), self.zone)
        return (int((midnight + dt.timedelta(minutes=start)).timestamp()),
                int((midnight + dt.timedelta(minutes=stop)).timestamp()))

    def trade_date_of(self, epoch: int) -> dt.date:
        """The trade date a moment belongs to (an evening session counts for the next day)."""
        local = dt.datetime.fromtimestamp(epoch, self.zone)
        minute = local.hour * 60 + local.minute
        start = min(self.regular[0], self.extended[0])
        return local.date() + dt.timedelta(days=1) if start < 0 and minute >= 1440 + start \
            else local.date()


# US stocks and ETFs: 09:30-16:00 regular, 04:00-20:00 with pre- and after-market.
US_STOCK = Schedule("US/Eastern", "America/New_York", (570, 960), (240, 1200))
US_OPTION = Schedule("US/Eastern", "America/New_York", (570, 960), (570, 960))
# CME equity index futures: 17:00 (the day before) to 16:00 Central, liquid 08:30-15:00.
CME_FUTURE = Schedule("US/Central", "America/Chicago", (510, 900), (-420, 960))
# IDEALPRO forex: 17:15 (the day before) to 17:00 Eastern, liquid the same.
IDEALPRO = Schedule("US/Eastern", "America/New_York", (-405, 1020), (-405, 1020))
# CBOE indices: calculated 08:30-15:00 Central.
CBOE_INDEX = Schedule("US/Central", "America/Chicago", (510, 900), (510, 900))

BY_SEC_TYPE = {"STK": US_STOCK, "OPT": US_OPTION, "FUT": CME_FUTURE, "CASH": IDEALPRO,
               "IND": CBOE_INDEX}


def schedule_for(sec_type: str) -> Schedule:
    return BY_SEC_TYPE.get(sec_type, US_STOCK)


def is_trade_date(day: dt.date) -> bool:
    return day.weekday() < 5


def trade_dates_back(last: dt.date, count: int) -> list[dt.date]:
    """`count` trade dates ending at `last` (or the trade date before it), oldest first."""
    days: list[dt.date] = []
    day = last
    while len(days) < count:
        if is_trade_date(day):
            days.append(day)
        day -= dt.timedelta(days=1)
    return days[::-1]


def _intraday_starts(schedule: Schedule, day: dt.date, use_rth: bool, bar: int) -> list[int]:
    open_, close = schedule.window(day, use_rth)
    midnight = int(dt.datetime.combine(day, dt.time(), schedule.zone).timestamp())
    starts = [open_]
    t = open_ + (bar - (open_ - midnight) % bar) if (open_ - midnight) % bar else open_ + bar
    while t < close:
        starts.append(t)
        t += bar
    return starts


def last_session_day(schedule: Schedule, end: int, use_rth: bool) -> dt.date:
    """The newest trade date whose session opened before `end`."""
    day = schedule.trade_date_of(end)
    while not is_trade_date(day) or schedule.window(day, use_rth)[0] >= end:
        day -= dt.timedelta(days=1)
    return day


def bar_starts(schedule: Schedule, use_rth: bool, duration: tuple[int, str], bar: int,
               end: int, limit: int) -> list[int]:
    """The start (epoch) of every bar that a request covers, oldest first, at most `limit`.

    `duration` is (number, unit) with unit one of S D W M Y.
    """
    amount, unit = duration
    last_day = last_session_day(schedule, end, use_rth)
    if unit == "D":
        days = trade_dates_back(last_day, amount)
        window_start = 0
    else:
        seconds = amount * {"S": 1, "W": 7 * DAY, "M": 30 * DAY, "Y": 365 * DAY}[unit]
        window_start = end - seconds
        first_day = schedule.trade_date_of(window_start)
        span = range((last_day - first_day).days + 1)
        days = [d for d in (first_day + dt.timedelta(days=i) for i in span) if is_trade_date(d)]
    starts: list[int] = []
    for day in days:
        if bar >= DAY:
            open_ = schedule.window(day, use_rth)[0]
            if window_start <= open_ < end:
                starts.append(open_)
        else:
            starts.extend(t for t in _intraday_starts(schedule, day, use_rth, bar)
                          if window_start <= t < end)
    if bar > DAY:  # weekly / monthly bars: every n-th trade date, the newest kept
        step = max(1, bar // DAY * 5 // 7)
        starts = starts[::-1][::step][::-1]
    return starts[-limit:]


def format_bar_time(epoch: int, schedule: Schedule, daily: bool, format_date: int) -> str:
    """A bar's time as TWS writes it: the trade date for daily bars, else the local time with
    the zone ("20261124 09:30:00 US/Eastern"), or epoch seconds for formatDate=2."""
    if format_date == 2 and not daily:
        return str(epoch)
    if daily:
        return schedule.trade_date_of(epoch).strftime("%Y%m%d")
    local = dt.datetime.fromtimestamp(epoch, schedule.zone)
    return local.strftime("%Y%m%d %H:%M:%S") + " " + schedule.time_zone_id


def hours_text(schedule: Schedule, today: dt.date, use_rth: bool, days: int = 7) -> str:
    """contractDetails' tradingHours (extended) or liquidHours (regular): the sessions of the
    next `days` calendar days in IB's format "20261130:0930-20261130:1600;20261205:CLOSED"."""
    parts = []
    for i in range(days):
        day = today + dt.timedelta(days=i)
        if not is_trade_date(day):
            parts.append(f"{day:%Y%m%d}:CLOSED")
            continue
        open_, close = schedule.window(day, use_rth)
        a = dt.datetime.fromtimestamp(open_, schedule.zone)
        b = dt.datetime.fromtimestamp(close, schedule.zone)
        parts.append(f"{a:%Y%m%d:%H%M}-{b:%Y%m%d:%H%M}")
    return ";".join(parts)
