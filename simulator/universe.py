"""The simulator's built-in universe: real US stocks/ETFs, listed option chains, and forex
pairs, an index and its futures (listings.py).

Stocks carry IB's real con_ids. Options are generated: a few weekly expiries counted from a
reference date (fixed for the life of a ``Universe``), strikes around each underlying's start
price, calls and puts, multiplier 100, trading class = symbol, OCC-style local symbols and
deterministic con_ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from .listings import listings
from .model import ContractSpec, Instrument

TICK = Decimal("0.01")
OPTION_MULTIPLIER = 100
OPTION_CON_ID_BASE = 700_000_000


@dataclass(frozen=True)
class StockDef:
    symbol: str
    con_id: int
    primary_exchange: str
    long_name: str
    start_price: Decimal
    industry: str
    category: str
    stock_type: str = "COMMON"


STOCKS: tuple[StockDef, ...] = (
    StockDef("AAPL", 265598, "NASDAQ", "APPLE INC", Decimal("230.00"), "Technology", "Computers"),
    StockDef("MSFT", 272093, "NASDAQ", "MICROSOFT CORP", Decimal("420.00"), "Technology",
             "Software"),
    StockDef("SPY", 756733, "ARCA", "SPDR S&P 500 ETF TRUST", Decimal("590.00"), "Funds",
             "Equity Fund", "ETF"),
    StockDef("QQQ", 320227571, "NASDAQ", "INVESCO QQQ TRUST SERIES 1", Decimal("510.00"),
             "Funds", "Equity Fund", "ETF"),
    StockDef("AMZN", 3691937, "NASDAQ", "AMAZON.COM INC", Decimal("200.00"),
             "Communications", "Internet"),
    StockDef("GOOGL", 208813719, "NASDAQ", "ALPHABET INC-CL A", Decimal("170.00"),
             "Communications", "Internet"),
    StockDef("TSLA", 76792991, "NASDAQ", "TESLA INC", Decimal("340.00"), "Consumer, Cyclical",
             "Auto Manufacturers"),
    StockDef("NVDA", 4815747, "NASDAQ", "NVIDIA CORP", Decimal("140.00"), "Technology",
             "Semiconductors"),
    StockDef("META", 107113386, "NASDAQ", "META PLATFORMS INC-CLASS A", Decimal("580.00"),
             "Communications", "Internet"),
    StockDef("IWM", 9579970, "ARCA", "ISHARES RUSSELL 2000 ETF", Decimal("225.00"), "Funds",
             "Equity Fund", "ETF"),
    StockDef("JPM", 1520593, "NYSE", "JPMORGAN CHASE & CO", Decimal("240.00"), "Financial",
             "Banks"),
    StockDef("XOM", 13977, "NYSE", "EXXON MOBIL CORP", Decimal("110.00"), "Energy",
             "Oil&Gas"),
)

# Underlyings with listed chains: symbol -> (strike step, annual volatility used for quotes).
OPTION_UNDERLYINGS: dict[str, tuple[Decimal, float]] = {
    "AAPL": (Decimal("5"), 0.28),
    "SPY": (Decimal("5"), 0.16),
    "TSLA": (Decimal("10"), 0.55),
    "QQQ": (Decimal("5"), 0.20),
}
N_EXPIRIES = 4
STRIKES_EACH_SIDE = 10


@dataclass(frozen=True)
class OptionParams:
    """What securityDefinitionOptionParameter reports for one underlying and exchange."""

    exchange: str
    underlying_con_id: int
    trading_class: str
    multiplier: str
    expirations: tuple[str, ...]
    strikes: tuple[Decimal, ...]


def normalise_right(right: str) -> str:
    r = right.strip().upper()
    return {"CALL": "C", "PUT": "P", "C": "C", "P": "P"}.get(r, "" if r in ("", "?", "0") else r)


def occ_local_symbol(symbol: str, expiry: str, right: str, strike: Decimal) -> str:
    """OCC symbology: root padded to 6, YYMMDD, C/P, strike x 1000 on 8 digits."""
    return f"{symbol:<6}{expiry[2:]}{right}{int(strike * 1000):08d}"


def weekly_expiries(today: dt.date, count: int = N_EXPIRIES) -> tuple[str, ...]:
    """The next ``count`` Fridays strictly after ``today``, as YYYYMMDD."""
    days_ahead = (4 - today.weekday()) % 7 or 7
    first = today + dt.timedelta(days=days_ahead)
    return tuple((first + dt.timedelta(weeks=i)).strftime("%Y%m%d") for i in range(count))


def _strike_grid(start: Decimal, step: Decimal) -> tuple[Decimal, ...]:
    atm = (start / step).to_integral_value() * step
    return tuple(atm + step * i for i in range(-STRIKES_EACH_SIDE, STRIKES_EACH_SIDE + 1))


class Universe:
    """All listed instruments, looked up by con_id or by a (partial) ContractSpec."""

    def __init__(self, today: dt.date | None = None) -> None:
        self.today = today or dt.datetime.now(dt.UTC).date()
        self._by_con_id: dict[int, Instrument] = {}
        self._start_price: dict[int, Decimal] = {}
        self._stock_defs: dict[str, StockDef] = {}
        self._params: dict[int, OptionParams] = {}
        self._vol: dict[int, float] = {}
        self._options_of: dict[int, list[Instrument]] = {}
        self._listed: list[Instrument] = []  # forex, index, futures (listings.py)
        for sd in STOCKS:
            self._add_stock(sd)
        for listing in listings(self.today):
            self._by_con_id[listing.instrument.con_id] = listing.instrument
            self._start_price[listing.instrument.con_id] = listing.start_price
            self._listed.append(listing.instrument)
        expiries = weekly_expiries(self.today)
        for u_idx, (sym, (step, vol)) in enumerate(OPTION_UNDERLYINGS.items()):
            self._add_chain(u_idx, self._stock_defs[sym], step, vol, expiries)

    # -- construction -----------------------------------------------------------------------

    def _add_stock(self, sd: StockDef) -> None:
        inst = Instrument(
            con_id=sd.con_id, symbol=sd.symbol, sec_type="STK",
            primary_exchange=sd.primary_exchange, currency="USD", local_symbol=sd.symbol,
            trading_class="NMS" if sd.primary_exchange == "NASDAQ" else sd.symbol,
            min_tick=TICK, long_name=sd.long_name, industry=sd.industry, category=sd.category,
            valid_exchanges=("SMART", sd.primary_exchange, "ISLAND", "ARCA", "NYSE", "BATS"),
        )
        self._by_con_id[sd.con_id] = inst
        self._start_price[sd.con_id] = sd.start_price
        self._stock_defs[sd.symbol] = sd

    def _add_chain(self, u_idx: int, sd: StockDef, step: Decimal, vol: float,
                   expiries: tuple[str, ...]) -> None:
        strikes = _strike_grid(sd.start_price, step)
        chain: list[Instrument] = []
        for e_idx, expiry in enumerate(expiries):
            for s_idx, strike in enumerate(strikes):
                for r_idx, right in enumerate(("C", "P")):
                    con_id = (OPTION_CON_ID_BASE + u_idx * 100_000 + e_idx * 1_000
                              + s_idx * 2 + r_idx)
                    inst = Instrument(
                        con_id=con_id, symbol=sd.symbol, sec_type="OPT",
                        primary_exchange="CBOE", currency="USD",
                        local_symbol=occ_local_symbol(sd.symbol, expiry, right, strike),
                        trading_class=sd.symbol, min_tick=TICK,
                        long_name=sd.long_name, multiplier=OPTION_MULTIPLIER,
                        last_trade_date=expiry, strike=strike, right=right,
                        underlying_con_id=sd.con_id, underlying_symbol=sd.symbol,
                        valid_exchanges=("SMART", "CBOE", "AMEX", "ISE", "PHLX", "BOX"),
                        order_types=("LMT", "MKT", "STP", "STP LMT", "TRAIL"),
                        industry=sd.industry, category=sd.category,
                    )
                    self._by_con_id[con_id] = inst
                    self._vol[con_id] = vol
                    chain.append(inst)
        self._options_of[sd.con_id] = chain
        self._vol[sd.con_id] = vol
        self._params[sd.con_id] = OptionParams(
            exchange="SMART", underlying_con_id=sd.con_id, trading_class=sd.symbol,
            multiplier=str(OPTION_MULTIPLIER), expirations=expiries, strikes=strikes,
        )

    # -- queries -----------------------------------------------------------------------------

    def get(self, con_id: int) -> Instrument | None:
        return self._by_con_id.get(con_id)

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._by_con_id.values())

    def __len__(self) -> int:
        return len(self._by_con_id)

    def stocks(self) -> list[Instrument]:
        return [self._by_con_id[sd.con_id] for sd in STOCKS]

    def walked(self) -> list[Instrument]:
        """Every instrument with a price walk of its own: stocks, forex, index, futures."""
        return self.stocks() + list(self._listed)

    def options_of(self, underlying_con_id: int) -> list[Instrument]:
        return list(self._options_of.get(underlying_con_id, ()))

    def start_price(self, con_id: int) -> Decimal:
        """The opening price of a stock's walk (options have none: they are priced by model)."""
        return self._start_price[con_id]

    def stock_def(self, symbol: str) -> StockDef | None:
        return self._stock_defs.get(symbol.upper())

    def volatility(self, con_id: int) -> float:
        return self._vol.get(con_id, 0.30)

    def option_params(self, symbol: str = "", con_id: int = 0) -> list[OptionParams]:
        """reqSecDefOptParams: by underlying con_id, or by symbol when con_id is 0."""
        if con_id and con_id in self._params:
            p = self._params[con_id]
            return [p] if not symbol or symbol.upper() == self._by_con_id[con_id].symbol else []
        if not con_id and symbol:
            sd = self._stock_defs.get(symbol.upper())
            if sd and sd.con_id in self._params:
                return [self._params[sd.con_id]]
        return []

    def matching_symbols(self, pattern: str, limit: int = 16
                         ) -> list[tuple[Instrument, tuple[str, ...]]]:
        """reqMatchingSymbols: stocks whose symbol starts with, or name contains, the pattern;
        each with its derivative sec types."""
        p = pattern.strip().upper()
        if not p:
            return []
        hits = [i for i in self.stocks() if i.symbol.startswith(p)]
        hits += [i for i in self.stocks() if p in i.long_name and i not in hits]
        return [(i, ("OPT",) if i.con_id in self._params else ()) for i in hits[:limit]]

    def resolve(self, spec: ContractSpec) -> list[Instrument]:
        """Every instrument a client's contract description matches (empty fields match all).

        A con_id decides alone. Otherwise symbol or local symbol is needed; an option spec may
        leave expiry, strike or right out and then matches the whole slice of the chain.
        """
        if spec.con_id:
            inst = self._by_con_id.get(spec.con_id)
            return [inst] if inst and _compatible(inst, spec) else []
        symbol = spec.symbol.strip().upper()
        local = spec.local_symbol.strip().upper()
        if not symbol and not local:
            return []
        sec_type = spec.sec_type.strip().upper()
        if sec_type in ("CASH", "FUT", "IND"):
            return [i for i in self._listed if i.sec_type == sec_type and _compatible(i, spec)]
        if sec_type and sec_type not in ("STK", "OPT"):
            return []
        candidates: list[Instrument]
        if sec_type == "STK" or (not sec_type and not _looks_like_option(spec)):
            sd = self._stock_defs.get(symbol) if symbol else None
            candidates = [self._by_con_id[sd.con_id]] if sd else []
            if local and not symbol:
                candidates = [i for i in self.stocks() if i.local_symbol == local]
        else:
            if symbol:
                sd = self._stock_defs.get(symbol)
                candidates = self.options_of(sd.con_id) if sd else []
            else:
                candidates = [i for chain in self._options_of.values() for i in chain]
        return [i for i in candidates if _compatible(i, spec)]


def _looks_like_option(spec: ContractSpec) -> bool:
    return bool(spec.last_trade_date or normalise_right(spec.right)
                or (spec.strike is not None and spec.strike != 0))


def _compatible(inst: Instrument, spec: ContractSpec) -> bool:
    """Does every non-empty field of ``spec`` agree with ``inst``?"""
    if spec.symbol and spec.symbol.strip().upper() != inst.symbol:
        return False
    if spec.sec_type and spec.sec_type.strip().upper() != inst.sec_type:
        return False
    if spec.currency and spec.currency.strip().upper() != inst.currency:
        return False
    if spec.exchange and spec.exchange.strip().upper() not in inst.valid_exchanges:
        return False
    # Users sometimes pass an OCC symbol without its padding: compare without spaces.
    if spec.local_symbol and (spec.local_symbol.replace(" ", "").upper()
                              != inst.local_symbol.replace(" ", "").upper()):
        return False
    if spec.trading_class and spec.trading_class.strip().upper() != inst.trading_class:
        return False
    if inst.sec_type == "FUT":  # a contract month ("202612") or a full date picks one
        return not spec.last_trade_date or inst.last_trade_date.startswith(
            spec.last_trade_date.strip().split(" ")[0])
    if inst.sec_type != "OPT":
        return not _looks_like_option(spec) or spec.con_id == inst.con_id
    if spec.last_trade_date and not inst.last_trade_date.startswith(
            spec.last_trade_date.strip().split(" ")[0]):
        return False
    if spec.strike is not None and spec.strike != 0 and spec.strike != inst.strike:
        return False
    right = normalise_right(spec.right)
    if right and right != inst.right:
        return False
    return not (spec.multiplier and spec.multiplier.strip() not in ("", "0")
                and Decimal(spec.multiplier) != inst.multiplier)
