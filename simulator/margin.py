"""Pre-trade margin: what-if previews and IB's buying-power check (pure, over the ledger).

Both price an order at the current quote (the ask for a buy, the bid for a sell; a combo leg by
leg), book it on a copy of the ledger and compare the account before and after. IB refuses an
order that would leave the equity with loan value below the initial margin, unless the order
lowers the margin (a closing trade), with error 201 and the amounts in the reason.
"""

from __future__ import annotations

import copy
from decimal import Decimal

from .ledger import Ledger, commission_for
from .market import Market
from .model import ComboLegSpec, Instrument, OrderRequest, OrderSnapshot, WhatIfResult
from .orders import ZERO, Rejection, is_buy, leg_prices

Legs = tuple[tuple[Instrument, ComboLegSpec], ...]
CENT = Decimal("0.01")


def trial(ledger: Ledger, market: Market, req: OrderRequest, inst: Instrument | None,
          legs: Legs) -> tuple[Ledger, Decimal]:
    """A copy of the ledger with the whole order booked at the current quotes, and its
    commission."""
    buy = is_buy(req.action)
    booked = copy.deepcopy(ledger)
    commission = ZERO
    if legs:
        for leg_inst, leg, leg_buy, px in leg_prices(market, legs, buy):
            q = req.total_quantity * leg.ratio
            c = commission_for(leg_inst, q, px)
            commission += c
            booked.apply_fill(leg_inst, q if leg_buy else -q, px, c)
    else:
        assert inst is not None
        quote = market.quote(inst.con_id)
        px = quote.ask if buy else quote.bid
        commission = commission_for(inst, req.total_quantity, px)
        booked.apply_fill(inst, req.total_quantity if buy else -req.total_quantity, px,
                          commission)
    return booked, commission


def what_if(ledger: Ledger, market: Market, client_id: int, req: OrderRequest,
            inst: Instrument | None, legs: Legs) -> OrderSnapshot:
    """The openOrder answer to a what-if order: margins before, change and after."""
    before = ledger.values(market.mark)
    booked, commission = trial(ledger, market, req, inst, legs)
    after = booked.values(market.mark)
    result = WhatIfResult(
        init_margin_before=before["InitMarginReq"],
        maint_margin_before=before["MaintMarginReq"],
        equity_with_loan_before=before["EquityWithLoanValue"],
        init_margin_change=after["InitMarginReq"] - before["InitMarginReq"],
        maint_margin_change=after["MaintMarginReq"] - before["MaintMarginReq"],
        equity_with_loan_change=after["EquityWithLoanValue"] - before["EquityWithLoanValue"],
        init_margin_after=after["InitMarginReq"],
        maint_margin_after=after["MaintMarginReq"],
        equity_with_loan_after=after["EquityWithLoanValue"],
        commission=commission, min_commission=commission, max_commission=commission,
    )
    return OrderSnapshot(
        request=req, client_id=client_id, perm_id=0, status="PreSubmitted", filled=ZERO,
        remaining=req.total_quantity, avg_fill_price=ZERO, last_fill_price=ZERO,
        account=ledger.account, instrument=inst, what_if=result,
    )


def check_buying_power(ledger: Ledger, market: Market, req: OrderRequest,
                       inst: Instrument | None, legs: Legs) -> None:
    """Raise IB's Rejection 201 when the order needs more margin than the account has."""
    before = ledger.values(market.mark)
    booked, _ = trial(ledger, market, req, inst, legs)
    after = booked.values(market.mark)
    equity, initial = after["EquityWithLoanValue"], after["InitMarginReq"]
    if equity >= initial or initial <= before["InitMarginReq"]:
        return
    currency = ledger.currency
    raise Rejection(201, "Order rejected - reason:Your order is not accepted. In order to obtain "
                         "the desired position your Equity with Loan Value "
                         f"[{equity.quantize(CENT)} {currency}] must exceed the Initial Margin "
                         f"[{initial.quantize(CENT)} {currency}]")
