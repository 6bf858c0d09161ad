"""Trading sessions (historical bars, contract hours) and the listings that move with the
calendar (futures' front month)."""

from __future__ import annotations

import datetime as dt

import pytest
from ibkr_broker.simulator import sessions as S
from ibkr_broker.simulator.listings import es_futures, quarterly_expiries, third_friday


def epoch(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso).timestamp())


def labels(
    schedule: S.Schedule, use_rth: bool, duration: tuple[int, str], bar: int, end: str
) -> list[str]:
    starts = S.bar_starts(schedule, use_rth, duration, bar, epoch(end), 2000)
    return [S.format_bar_time(t, schedule, bar >= S.DAY, 1) for t in starts]


def test_stock_day_of_hourly_bars_outside_and_inside_regular_hours() -> None:
    sunday = "2026-11-29T12:00:00-05:00"
    assert len(labels(S.US_STOCK, False, (1, "D"), 3600, sunday)) == 16  # 04:00..19:00 Friday
    rth = labels(S.US_STOCK, True, (1, "D"), 3600, sunday)
    assert rth[0] == "20261127 09:30:00 US/Eastern" and rth[-1] == "20261127 15:00:00 US/Eastern"
    assert len(rth) == 7


def test_before_the_open_the_last_session_is_the_previous_trade_date() -> None:
    monday_early = "2026-11-30T03:00:00-05:00"
    bars = labels(S.US_STOCK, False, (1, "D"), 3600, monday_early)
    assert bars[0].startswith("20261127 04:00") and len(bars) == 16


def test_future_session_opens_the_evening_before_its_trade_date() -> None:
    sunday_evening = "2026-11-29T19:30:00-06:00"  # ES reopened at 17:00 Central
    bars = labels(S.CME_FUTURE, False, (1, "D"), 3600, sunday_evening)
    assert bars == ["20261129 17:00:00 US/Central", "20261129 18:00:00 US/Central",
                    "20261129 19:00:00 US/Central"]  # fmt: skip
    assert S.CME_FUTURE.trade_date_of(epoch(sunday_evening)) == dt.date(2026, 11, 30)
    liquid = labels(S.CME_FUTURE, True, (1, "D"), 3600, sunday_evening)
    assert liquid[0] == "20261127 08:30:00 US/Central" and len(liquid) == 7


def test_forex_trades_round_the_clock_on_weekdays_only() -> None:
    bars = labels(S.IDEALPRO, True, (1, "W"), 86_400, "2026-11-29T12:00:00-05:00")
    assert bars == ["20261123", "20261124", "20261125", "20261126", "20261127"]


def test_hours_text_in_ibs_format() -> None:
    text = S.hours_text(S.US_STOCK, dt.date(2026, 11, 27), use_rth=True, days=4)
    assert text == ("20261127:0930-20261127:1600;20261128:CLOSED;20261129:CLOSED;"
                    "20261130:0930-20261130:1600")  # fmt: skip
    futures = S.hours_text(S.CME_FUTURE, dt.date(2026, 11, 30), use_rth=False, days=1)
    assert futures == "20261129:1700-20261130:1600"


@pytest.mark.parametrize(
    ("today", "front", "following"),
    [
        (dt.date(2026, 11, 30), "20261218", "20270319"),
        (dt.date(2026, 12, 18), "20261218", "20270319"),  # the last trade date itself
        (dt.date(2026, 12, 19), "20270319", "20270618"),  # the day after: the roll
    ],
)
def test_futures_front_month_rolls_with_the_calendar(
    today: dt.date, front: str, following: str
) -> None:
    assert [f"{d:%Y%m%d}" for d in quarterly_expiries(today)] == [front, following]
    listed = [f.instrument for f in es_futures(today)]
    assert [i.last_trade_date for i in listed] == [front, following]
    assert len({i.con_id for i in listed}) == 2 and all(i.multiplier == 50 for i in listed)


def test_third_friday() -> None:
    assert third_friday(2026, 12) == dt.date(2026, 12, 18)
    assert third_friday(2027, 3) == dt.date(2027, 3, 19)
