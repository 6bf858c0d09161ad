"""Instruments beyond stocks and options: forex pairs, an index and its futures.

- Forex: CASH on IDEALPRO, symbol = base currency, currency = quote currency, local symbol
  "EUR.USD" (IB's real con_ids). Quantities are in the base currency.
- Index: SPX on CBOE (IB's real con_id): quotes and details, no orders (as at IB).
- Futures: the E-mini S&P 500 (ES on CME, multiplier 50), the front quarterly contract and the
  next one, counted from the universe's date so they stay listed as the calendar moves; each
  expires on the third Friday of its month (local symbol "ESZ6").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from .model import Instrument
from .sessions import CBOE_INDEX, CME_FUTURE, IDEALPRO


@dataclass(frozen=True)
class Listing:
    instrument: Instrument
    start_price: Decimal


FOREX_TICK = Decimal("0.00005")
FOREX_ORDER_TYPES = ("LMT", "MKT", "STP", "STP LMT", "TRAIL")
FUTURE_TICK = Decimal("0.25")
FUTURE_MULTIPLIER = 50
FUTURE_CON_ID_BASE = 650_000_000
QUARTER_MONTHS = (3, 6, 9, 12)
MONTH_CODES = {3: "H", 6: "M", 9: "U", 12: "Z"}
SPX_CON_ID = 416904


def _forex(con_id: int, base: str, quote: str, name: str, price: str) -> Listing:
    pair = f"{base}.{quote}"
    inst = Instrument(
        con_id=con_id, symbol=base, sec_type="CASH", primary_exchange="", currency=quote,
        local_symbol=pair, trading_class=pair, min_tick=FOREX_TICK, long_name=name,
        exchange="IDEALPRO", valid_exchanges=("IDEALPRO",), order_types=FOREX_ORDER_TYPES,
        time_zone_id=IDEALPRO.time_zone_id, category="Currency",
    )
    return Listing(inst, Decimal(price))


FOREX: tuple[Listing, ...] = (
    _forex(12087792, "EUR", "USD", "European Monetary Union Euro", "1.0850"),
    _forex(12087797, "GBP", "USD", "British pound", "1.2700"),
)

SPX = Listing(
    Instrument(
        con_id=SPX_CON_ID, symbol="SPX", sec_type="IND", primary_exchange="", currency="USD",
        local_symbol="SPX", trading_class="SPX", min_tick=Decimal("0.01"),
        long_name="S&P 500 Stock Index", exchange="CBOE", valid_exchanges=("CBOE",),
        order_types=(), time_zone_id=CBOE_INDEX.time_zone_id, category="Broad",
    ),
    Decimal("5900.00"),
)


def third_friday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(4 - first.weekday()) % 7 + 14)


def quarterly_expiries(today: dt.date, count: int = 2) -> list[dt.date]:
    """The next `count` quarterly expiries (third Fridays of Mar/Jun/Sep/Dec) not before
    `today`: the front month first."""
    out: list[dt.date] = []
    year = today.year
    while len(out) < count:
        for month in QUARTER_MONTHS:
            day = third_friday(year, month)
            if day >= today and len(out) < count:
                out.append(day)
        year += 1
    return out


def es_futures(today: dt.date) -> tuple[Listing, ...]:
    """ES front month and the next quarterly contract."""
    out = []
    for index, expiry in enumerate(quarterly_expiries(today)):
        local = f"ES{MONTH_CODES[expiry.month]}{expiry.year % 10}"
        inst = Instrument(
            con_id=FUTURE_CON_ID_BASE + expiry.year * 100 + expiry.month, symbol="ES",
            sec_type="FUT", primary_exchange="", currency="USD", local_symbol=local,
            trading_class="ES", min_tick=FUTURE_TICK, long_name="E-mini S&P 500",
            multiplier=FUTURE_MULTIPLIER, last_trade_date=f"{expiry:%Y%m%d}",
            underlying_con_id=SPX_CON_ID, underlying_symbol="ES", under_sec_type="IND",
            exchange="CME", valid_exchanges=("CME",), time_zone_id=CME_FUTURE.time_zone_id,
            category="Index",
        )
        out.append(Listing(inst, SPX.start_price + Decimal(30 + 35 * index)))
    return tuple(out)


def listings(today: dt.date) -> tuple[Listing, ...]:
    return (*FOREX, SPX, *es_futures(today))
