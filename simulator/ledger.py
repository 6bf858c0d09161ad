"""The paper account: cash, positions, average cost, PnL and margin, in exact Decimal.

IB conventions: ``avg_cost`` is per unit *including* the multiplier and the commissions paid to
open (an AAPL share bought at 100.00 with $1 commission on 100 shares has avg_cost 100.01; an
option contract at 2.50 has avg_cost 250.65). Realized PnL of a closing trade is net of its
commission. Margin is a Reg-T-like model: stocks 50% initial / 25% maintenance of the absolute
market value; long options none (paid in full); short options 20% of the underlying notional
plus the premium; futures 7.5% / 6.8% and forex 3% / 2.5% of the notional. A future or a
currency position is booked like a stock (its notional paid in cash and held as value), so the
net liquidation value moves with its PnL as variation margin would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from .model import Instrument

ZERO = Decimal(0)
STOCK_INIT = Decimal("0.50")
STOCK_MAINT = Decimal("0.25")
SHORT_OPT = Decimal("0.20")
LEVERAGE = Decimal(4)
STOCK_PER_SHARE = Decimal("0.005")
STOCK_MIN = Decimal("1.00")
STOCK_MAX_PCT = Decimal("0.01")
OPT_PER_CONTRACT = Decimal("0.65")
OPT_MIN = Decimal("1.00")
FUT_PER_CONTRACT = Decimal("0.85")
FX_RATE = Decimal("0.00002")  # 0.2 basis points of the value
FX_MIN = Decimal("2.00")
# (initial, maintenance) margin as a fraction of the absolute market value, by sec type
MARGIN_RATES = {"STK": (STOCK_INIT, STOCK_MAINT), "FUT": (Decimal("0.075"), Decimal("0.068")),
                "CASH": (Decimal("0.03"), Decimal("0.025"))}

Mark = Callable[[int], Decimal]


def commission_for(inst: Instrument, quantity: Decimal, price: Decimal) -> Decimal:
    """IB-tiered-ish: stocks $0.005/share, min $1, max 1% of value; options $0.65/contract,
    min $1 per order; futures $0.85/contract; forex 0.2 bp of the value, min $2."""
    q = abs(quantity)
    if inst.sec_type == "OPT":
        return max(OPT_MIN, q * OPT_PER_CONTRACT)
    if inst.sec_type == "FUT":
        return q * FUT_PER_CONTRACT
    if inst.sec_type == "CASH":
        return max(FX_MIN, (q * price * FX_RATE).quantize(Decimal("0.01")))
    fee = max(STOCK_MIN, q * STOCK_PER_SHARE)
    cap = q * price * STOCK_MAX_PCT
    return min(fee, cap) if cap > 0 else fee


@dataclass
class Position:
    instrument: Instrument
    quantity: Decimal = ZERO
    avg_cost: Decimal = ZERO  # per unit, multiplier and opening commissions included
    realized_pnl: Decimal = ZERO


@dataclass(frozen=True)
class PortfolioLine:
    """What updatePortfolio reports for one position."""

    instrument: Instrument
    position: Decimal
    market_price: Decimal
    market_value: Decimal
    avg_cost: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal


@dataclass(frozen=True)
class Margins:
    init: Decimal
    maint: Decimal


class Ledger:
    """One account's books. All mutation goes through ``apply_fill``."""

    def __init__(self, account: str, cash: Decimal = Decimal("1000000"),
                 currency: str = "USD") -> None:
        self.account = account
        self.currency = currency
        self.starting_cash = cash
        self.cash = cash
        self.positions: dict[int, Position] = {}
        self.realized_pnl = ZERO
        self.commissions = ZERO

    def apply_fill(self, inst: Instrument, signed_qty: Decimal, price: Decimal,
                   commission: Decimal) -> Decimal | None:
        """Book a fill (positive quantity buys). Returns the realized PnL of the closing part,
        or None when the fill only opens or adds."""
        mult = Decimal(inst.multiplier)
        self.cash -= signed_qty * price * mult + commission
        self.commissions += commission
        pos = self.positions.setdefault(inst.con_id, Position(inst))
        old = pos.quantity
        unit = price * mult
        if old == 0 or (old > 0) == (signed_qty > 0):
            new = old + signed_qty
            pos.avg_cost = (old * pos.avg_cost + signed_qty * unit + commission) / new
            pos.quantity = new
            return None
        closing = min(abs(signed_qty), abs(old))
        closing_fee = commission * closing / abs(signed_qty)
        realized = (unit - pos.avg_cost) * closing * _sign(old) - closing_fee
        pos.realized_pnl += realized
        self.realized_pnl += realized
        new = old + signed_qty
        if new == 0:
            pos.quantity = ZERO
            pos.avg_cost = ZERO
        elif (new > 0) != (old > 0):  # flipped: the rest opens a new position
            opening_fee = commission - closing_fee
            pos.quantity = new
            pos.avg_cost = (new * unit + opening_fee) / new
        else:
            pos.quantity = new
        return realized

    # -- valuation ---------------------------------------------------------------------------

    def open_positions(self) -> list[Position]:
        return [p for p in self.positions.values() if p.quantity != 0]

    def portfolio(self, mark: Mark) -> list[PortfolioLine]:
        """Every position ever held (closed ones report zero), as updatePortfolio lines."""
        lines = []
        for pos in self.positions.values():
            inst = pos.instrument
            price = mark(inst.con_id)
            mv = pos.quantity * price * inst.multiplier
            lines.append(PortfolioLine(
                instrument=inst, position=pos.quantity, market_price=price, market_value=mv,
                avg_cost=pos.avg_cost, unrealized_pnl=mv - pos.quantity * pos.avg_cost,
                realized_pnl=pos.realized_pnl,
            ))
        return lines

    def margins(self, mark: Mark, underlying_mark: Mark | None = None) -> Margins:
        init = maint = ZERO
        for pos in self.open_positions():
            inst = pos.instrument
            value = abs(pos.quantity * mark(inst.con_id) * inst.multiplier)
            if inst.sec_type == "OPT":
                if pos.quantity < 0:
                    und = (underlying_mark or mark)(inst.underlying_con_id)
                    req = abs(pos.quantity) * inst.multiplier * und * SHORT_OPT + value
                    init += req
                    maint += req
            else:
                init_rate, maint_rate = MARGIN_RATES.get(inst.sec_type, MARGIN_RATES["STK"])
                init += value * init_rate
                maint += value * maint_rate
        return Margins(init, maint)

    def values(self, mark: Mark) -> dict[str, Decimal]:
        """The account values reqAccountUpdates / reqAccountSummary report."""
        lines = self.portfolio(mark)
        stock_value = sum((ln.market_value for ln in lines if ln.instrument.sec_type == "STK"),
                          ZERO)
        option_value = sum((ln.market_value for ln in lines if ln.instrument.sec_type == "OPT"),
                           ZERO)
        other_value = sum((ln.market_value for ln in lines
                           if ln.instrument.sec_type not in ("STK", "OPT")), ZERO)
        unrealized = sum((ln.unrealized_pnl for ln in lines), ZERO)
        gross = sum((abs(ln.market_value) for ln in lines), ZERO)
        net_liq = self.cash + stock_value + option_value + other_value
        m = self.margins(mark)
        available = net_liq - m.init
        excess = net_liq - m.maint
        return {
            "NetLiquidation": net_liq,
            "TotalCashValue": self.cash,
            "SettledCash": self.cash,
            "CashBalance": self.cash,
            "AccruedCash": ZERO,
            "StockMarketValue": stock_value,
            "OptionMarketValue": option_value,
            "GrossPositionValue": gross,
            "EquityWithLoanValue": net_liq,
            "InitMarginReq": m.init,
            "MaintMarginReq": m.maint,
            "FullInitMarginReq": m.init,
            "FullMaintMarginReq": m.maint,
            "AvailableFunds": available,
            "FullAvailableFunds": available,
            "ExcessLiquidity": excess,
            "FullExcessLiquidity": excess,
            "BuyingPower": max(ZERO, available * LEVERAGE),
            "Cushion": _ratio(excess, net_liq),
            "UnrealizedPnL": unrealized,
            "RealizedPnL": self.realized_pnl,
            "DayTradesRemaining": Decimal(-1),
            "Leverage": _ratio(gross, net_liq),
        }


def _ratio(a: Decimal, b: Decimal) -> Decimal:
    return (a / b).quantize(Decimal("0.000001")) if b else ZERO


def _sign(x: Decimal) -> Decimal:
    return Decimal(1) if x > 0 else Decimal(-1)
