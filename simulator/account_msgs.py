"""Account replies (reqAccountUpdates, reqPositions, reqAccountSummary, reqAccountUpdatesMulti,
reqPnL) built from the exchange's ledger and the market's marks. ``out`` is the session's reply
builders (codec.responses or codec.proto_replies, by protocol era)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from types import ModuleType

from .exchange import Exchange
from .ledger import ZERO

CENT = Decimal("0.01")
# Account values that are not money: reported without a currency, as IB does.
_PLAIN = frozenset({"Cushion", "Leverage", "DayTradesRemaining"})
# ib_async's accountSummary() default tags, also IB's documented list.
SUMMARY_TAGS = (
    "AccountType", "NetLiquidation", "TotalCashValue", "SettledCash", "AccruedCash",
    "BuyingPower", "EquityWithLoanValue", "GrossPositionValue", "InitMarginReq",
    "MaintMarginReq", "AvailableFunds", "ExcessLiquidity", "Cushion", "FullInitMarginReq",
    "FullMaintMarginReq", "FullAvailableFunds", "FullExcessLiquidity", "Leverage",
    "DayTradesRemaining",
)  # fmt: skip


def money(v: Decimal) -> str:
    return str(v.quantize(CENT))


def account_values(ex: Exchange, account: str | None = None) -> list[tuple[str, str, str]]:
    """(key, value, currency) for every value of `account` (None = the first)."""
    account = account or ex.account
    values: list[tuple[str, str, str]] = [
        ("AccountCode", account, ""),
        ("AccountType", "INDIVIDUAL", ""),
        ("AccountReady", "true", ""),
        ("Currency", "USD", "USD"),
        ("RealCurrency", "USD", "USD"),
    ]
    for key, value in ex.ledgers[account].values(ex.market.mark).items():
        if key in _PLAIN:
            values.append((key, str(value), ""))
        else:
            values.append((key, money(value), "USD"))
            if key in ("NetLiquidation", "TotalCashValue", "CashBalance", "UnrealizedPnL",
                       "RealizedPnL", "StockMarketValue", "OptionMarketValue"):
                values.append((key if key != "TotalCashValue" else "TotalCashBalance",
                               money(value), "BASE"))
    return values


def account_update_frames(out: ModuleType, ex: Exchange, con_ids: Iterable[int] | None = None,
                          *, download_end: bool = False, account: str | None = None
                          ) -> list[bytes]:
    """updateAccountValue for all values of `account` (None = the first), updatePortfolio for
    ``con_ids`` (None = all), the account time, and accountDownloadEnd when asked."""
    acct = account or ex.account
    frames = [out.update_account_value(k, v, c, acct) for k, v, c in account_values(ex, acct)]
    wanted = None if con_ids is None else set(con_ids)
    for line in ex.ledgers[acct].portfolio(ex.market.mark):
        if wanted is not None and line.instrument.con_id not in wanted:
            continue
        frames.append(out.update_portfolio(
            line.instrument, line.position, line.market_price, line.market_value.quantize(CENT),
            line.avg_cost, line.unrealized_pnl.quantize(CENT), line.realized_pnl.quantize(CENT),
            acct))
    frames.append(out.update_account_time(dt.datetime.now(dt.UTC).strftime("%H:%M")))
    if download_end:
        frames.append(out.account_download_end(acct))
    return frames


def position_frames(out: ModuleType, ex: Exchange,
                    con_ids: Iterable[int] | None = None) -> list[bytes]:
    wanted = None if con_ids is None else set(con_ids)
    return [out.position(account, p.instrument, p.quantity, p.avg_cost)
            for account, ledger in ex.ledgers.items()
            for p in ledger.positions.values()
            if wanted is None or p.instrument.con_id in wanted]


def summary_frames(out: ModuleType, ex: Exchange, req_id: int, tags: Iterable[str]) -> list[bytes]:
    """accountSummary of every managed account (group "All")."""
    tags = tuple(tags)
    return [frame for account in ex.accounts
            for frame in _account_summary(out, ex, req_id, tags, account)]


def _account_summary(out: ModuleType, ex: Exchange, req_id: int, tags: tuple[str, ...],
                     account: str) -> list[bytes]:
    values = {k: (v, c) for k, v, c in account_values(ex, account) if c != "BASE"}
    frames = []
    for tag in tags:
        if tag.startswith("$LEDGER"):
            for key in ("CashBalance", "NetLiquidation", "UnrealizedPnL", "RealizedPnL",
                        "StockMarketValue", "OptionMarketValue"):
                v, _ = values[key]
                frames.append(out.account_summary(req_id, account, key, v, "USD"))
            continue
        if tag in values:
            v, c = values[tag]
            frames.append(out.account_summary(req_id, account, tag, v, c))
    return frames


def multi_frames(out: ModuleType, ex: Exchange, req_id: int, model_code: str,
                 account: str = "") -> list[bytes]:
    """accountUpdateMulti of `account` ("" or unknown = every managed account)."""
    accounts = (account,) if account in ex.ledgers else ex.accounts
    return [out.account_update_multi(req_id, acct, model_code, k, v, c)
            for acct in accounts for k, v, c in account_values(ex, acct)]


def pnl_frame(out: ModuleType, ex: Exchange, req_id: int, account: str = "") -> bytes:
    ledger = ex.ledgers.get(account, ex.ledger)
    values = ledger.values(ex.market.mark)
    unrealized = values["UnrealizedPnL"].quantize(CENT)
    realized = ledger.realized_pnl.quantize(CENT)
    frame: bytes = out.pnl(req_id, unrealized + realized if (unrealized or realized) else ZERO,
                           unrealized, realized)
    return frame
