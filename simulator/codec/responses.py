"""Server -> client messages at server version 178: builders returning one framed ``bytes``.

Pure: no I/O. Layouts are tws-protocol.md §3.2/§3.3; every builder is checked by both real
decoders (ibapi 10.50 ``Decoder`` and ib_async 2.1 ``Decoder``) in tests/unit/test_sim_codec.py.
Numbers: Decimal/int/float; None means unset and is sent as "" (or as noted).

Connection and misc:
  next_valid_id(order_id) · managed_accounts(accounts) · error(req_id, code, text,
  advanced_json="") · current_time(epoch_seconds)
Market data:
  tick_price(req_id, tick_type, price, size=None, attrib_mask=0)  [fast path]
  tick_size(req_id, tick_type, size) · tick_string(req_id, tick_type, value)
  tick_generic(req_id, tick_type, value) · market_data_type(req_id, data_type)
  tick_req_params(req_id, min_tick, bbo_exchange="", snapshot_permissions=0)
  tick_snapshot_end(req_id)
  tick_option_computation(req_id, tick_type, iv, delta, opt_price, pv_div, gamma, vega, theta,
                          und_price, tick_attrib=0)   (None -> IB's "not computed" -1 / -2)
Contracts:
  contract_data(req_id, instrument) · contract_data_end(req_id)
  security_definition_option_parameter(req_id, exchange, underlying_con_id, trading_class,
                                       multiplier, expirations, strikes)
  security_definition_option_parameter_end(req_id)
  symbol_samples(req_id, matches)   matches: [(Instrument, derivative_sec_types), ...]
  historical_data(req_id, start, end, bars) · historical_data_update(req_id, bar)
Orders (implemented in order_replies.py, re-exported here):
  open_order(snapshot) · open_order_end() · order_status(snapshot, mkt_cap_price=None)
  completed_order(snapshot, completed_time="", completed_status="")
  completed_orders_end()
Executions:
  exec_details(req_id, fill, server_version=178) · exec_details_end(req_id)
  commission_report(fill)
Account:
  update_account_value(key, value, currency, account) · update_account_time(hh_mm)
  update_portfolio(contract, position, market_price, market_value, average_cost,
                   unrealized_pnl, realized_pnl, account)
  account_download_end(account) · position(account, contract, position, avg_cost)
  position_end() · account_summary(req_id, account, tag, value, currency)
  account_summary_end(req_id) · account_update_multi(req_id, account, model_code, key, value,
  currency) · account_update_multi_end(req_id) · pnl(req_id, daily, unrealized, realized)
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from decimal import Decimal

from ..model import ContractSpec, Fill, HistoricalBar, Instrument
from .ids import Out
from .order_replies import (
    completed_order,
    completed_orders_end,
    open_order,
    open_order_end,
    order_status,
)
from .wire import UNSET_DOUBLE, Field, encode_fields
from .wire import format_number as num

__all__ = [
    "account_download_end",
    "account_summary",
    "account_summary_end",
    "account_update_multi",
    "account_update_multi_end",
    "commission_report",
    "completed_order",
    "completed_orders_end",
    "contract_data",
    "contract_data_end",
    "current_time",
    "error",
    "exec_details",
    "exec_details_end",
    "historical_data",
    "historical_data_update",
    "managed_accounts",
    "market_data_type",
    "next_valid_id",
    "open_order",
    "open_order_end",
    "order_status",
    "pnl",
    "position",
    "position_end",
    "security_definition_option_parameter",
    "security_definition_option_parameter_end",
    "symbol_samples",
    "tick_generic",
    "tick_option_computation",
    "tick_price",
    "tick_req_params",
    "tick_size",
    "tick_snapshot_end",
    "tick_string",
    "update_account_time",
    "update_account_value",
    "update_portfolio",
]

Number = Decimal | int | float

_LEN = struct.Struct(">I")


def _ascii(text: str) -> str:
    """Free text as ASCII; ibapi decodes these fields with unicode-escape, so \\uXXXX survives."""
    return text if text.isascii() else text.encode("ascii", "backslashreplace").decode("ascii")


# --------------------------------------------------------------------------------------------
# connection and misc


def next_valid_id(order_id: int) -> bytes:
    return encode_fields((Out.NEXT_VALID_ID, 1, order_id))


def managed_accounts(accounts: Sequence[str]) -> bytes:
    return encode_fields((Out.MANAGED_ACCTS, 1, ",".join(accounts)))


def error(req_id: int, code: int, text: str, advanced_json: str = "") -> bytes:
    """errMsg (4): req_id -1 for connection-level notices (2104, 2106, 2158, ...)."""
    return encode_fields((Out.ERR_MSG, 2, req_id, code, _ascii(text), _ascii(advanced_json)))


def current_time(epoch_seconds: int) -> bytes:
    return encode_fields((Out.CURRENT_TIME, 1, epoch_seconds))


# --------------------------------------------------------------------------------------------
# market data

_TICK_PRICE = "1\x006\x00%d\x00%d\x00%s\x00%s\x00%d\x00"


def _fast_num(v: Number) -> str:
    s = str(v)
    if "E" in s or "e" in s or "n" in s:  # exponent, or inf/nan spelled by str()
        return num(v)
    return s


def tick_price(
    req_id: int, tick_type: int, price: Number, size: Number | None = None, attrib_mask: int = 0
) -> bytes:
    """tickPrice (1): ``[1, 6, reqId, tickType, price, size, attrMask]``. Hot path.

    attrib_mask bits: 1 canAutoExecute, 2 pastLimit, 4 preOpen. ibapi also fires tickSize for
    BID/ASK/LAST (1/2/4) and delayed 66/67/68 from ``size``.
    """
    s = "" if size is None else _fast_num(size)
    payload = (_TICK_PRICE % (req_id, tick_type, _fast_num(price), s, attrib_mask)).encode()
    return _LEN.pack(len(payload)) + payload


def tick_size(req_id: int, tick_type: int, size: Number | None) -> bytes:
    return encode_fields((Out.TICK_SIZE, 6, req_id, tick_type, num(size)))


def tick_string(req_id: int, tick_type: int, value: str) -> bytes:
    """tickString (46); LAST_TIMESTAMP (45) takes epoch seconds as an integer string."""
    return encode_fields((Out.TICK_STRING, 6, req_id, tick_type, _ascii(value)))


def tick_generic(req_id: int, tick_type: int, value: Number) -> bytes:
    """tickGeneric (45). ib_async asserts tick_type in {23,24,31,46,49,54,55,56,58,60,90}."""
    return encode_fields((Out.TICK_GENERIC, 6, req_id, tick_type, num(value)))


def market_data_type(req_id: int, data_type: int) -> bytes:
    """marketDataType (58): 1 real-time, 2 frozen, 3 delayed, 4 delayed-frozen."""
    return encode_fields((Out.MARKET_DATA_TYPE, 1, req_id, data_type))


def tick_req_params(
    req_id: int, min_tick: Number, bbo_exchange: str = "", snapshot_permissions: int = 0
) -> bytes:
    return encode_fields(
        (Out.TICK_REQ_PARAMS, req_id, num(min_tick), bbo_exchange, snapshot_permissions)
    )


def tick_snapshot_end(req_id: int) -> bytes:
    return encode_fields((Out.TICK_SNAPSHOT_END, 1, req_id))


def _or(v: Number | None, missing: str) -> str:
    return missing if v is None else num(v)


def tick_option_computation(
    req_id: int,
    tick_type: int,
    iv: Number | None,
    delta: Number | None,
    opt_price: Number | None,
    pv_div: Number | None,
    gamma: Number | None,
    vega: Number | None,
    theta: Number | None,
    und_price: Number | None,
    tick_attrib: int = 0,
) -> bytes:
    """tickOptionComputation (21), no version. tick_type 10/11/12/13 (delayed 80-83);
    tick_attrib 0 return-based, 1 price-based. None = not computed (-1 or -2 on the wire)."""
    return encode_fields(
        (
            Out.TICK_OPTION_COMPUTATION, req_id, tick_type, tick_attrib,
            _or(iv, "-1"), _or(delta, "-2"), _or(opt_price, "-1"), _or(pv_div, "-1"),
            _or(gamma, "-2"), _or(vega, "-2"), _or(theta, "-2"), _or(und_price, "-1"),
        )
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# contracts


def contract_data(req_id: int, inst: Instrument) -> bytes:
    """contractData (10) at 178: no version field, size rules, no lastTradeDate/fund fields."""
    is_opt = inst.sec_type in ("OPT", "FOP", "FUT")
    ltd = f"{inst.last_trade_date} 16:00 {inst.time_zone_id}" if inst.last_trade_date else ""
    multiplier = str(inst.multiplier) if is_opt or inst.multiplier != 1 else ""
    return encode_fields(
        (
            Out.CONTRACT_DATA,
            req_id, inst.symbol, inst.sec_type, ltd, num(inst.strike or 0), inst.right,
            inst.exchange, inst.currency, inst.local_symbol, inst.trading_class,
            inst.trading_class, inst.con_id, num(inst.min_tick), multiplier,
            ",".join(inst.order_types), ",".join(inst.valid_exchanges), 1,
            inst.underlying_con_id, _ascii(inst.long_name), inst.primary_exchange,
            inst.last_trade_date[:6], inst.industry, inst.category, "", inst.time_zone_id,
            inst.trading_hours, inst.liquid_hours, "", "", 0,  # evRule, evMultiplier, secIdCount
            0,  # aggGroup
            inst.underlying_symbol, inst.under_sec_type if inst.underlying_con_id else "", "",
            inst.last_trade_date, "COMMON" if inst.sec_type == "STK" else "", 1, 1, 1,
        )
    )  # fmt: skip


def contract_data_end(req_id: int) -> bytes:
    return encode_fields((Out.CONTRACT_DATA_END, 1, req_id))


def security_definition_option_parameter(
    req_id: int,
    exchange: str,
    underlying_con_id: int,
    trading_class: str,
    multiplier: str,
    expirations: Sequence[str],
    strikes: Sequence[Number],
) -> bytes:
    return encode_fields(
        (
            Out.SECURITY_DEFINITION_OPTION_PARAMETER,
            req_id, exchange, underlying_con_id, trading_class, multiplier,
            len(expirations), *expirations, len(strikes), *(num(s) for s in strikes),
        )
    )  # fmt: skip


def security_definition_option_parameter_end(req_id: int) -> bytes:
    return encode_fields((Out.SECURITY_DEFINITION_OPTION_PARAMETER_END, req_id))


def symbol_samples(
    req_id: int, matches: Sequence[tuple[Instrument, Sequence[str]]]
) -> bytes:
    """symbolSamples (79), the reqMatchingSymbols reply."""
    out: list[Field] = [Out.SYMBOL_SAMPLES, req_id, len(matches)]
    for inst, derivs in matches:
        out += [inst.con_id, inst.symbol, inst.sec_type, inst.primary_exchange, inst.currency]
        out += [len(derivs), *derivs, _ascii(inst.long_name), ""]  # description, issuerId
    return encode_fields(out)


def historical_data(req_id: int, start: str, end: str, bars: Iterable[HistoricalBar]) -> bytes:
    """historicalData (17) with start/end (below 196 both clients fire historicalDataEnd from
    it; never send msg 108)."""
    bars = list(bars)
    out: list[Field] = [Out.HISTORICAL_DATA, req_id, start, end, len(bars)]
    for b in bars:
        out += [
            b.date, num(b.open), num(b.high), num(b.low), num(b.close),
            num(b.volume), num(b.wap), b.count,
        ]  # fmt: skip
    return encode_fields(out)


def historical_data_update(req_id: int, bar: HistoricalBar) -> bytes:
    """historicalDataUpdate (90), keepUpToDate: note close before high/low, wap before volume."""
    return encode_fields(
        (
            Out.HISTORICAL_DATA_UPDATE,
            req_id, bar.count, bar.date, num(bar.open), num(bar.close), num(bar.high),
            num(bar.low), num(bar.wap), num(bar.volume),
        )
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# executions


def exec_details(req_id: int, fill: Fill, server_version: int = 178) -> bytes:
    """execDetails (11), no version; req_id -1 for live fills. ``server_version`` matters only
    in the protobuf era (the twin in proto_replies.py); the text era always sends the time as
    "YYYYMMDD HH:MM:SS UTC"."""
    c = fill.contract
    return encode_fields(
        (
            Out.EXECUTION_DATA,
            req_id, fill.order_id, c.con_id, c.symbol, c.sec_type, c.last_trade_date,
            num(c.strike or 0), c.right, c.multiplier, c.exchange, c.currency, c.local_symbol,
            c.trading_class, fill.exec_id, fill.time_utc, fill.account, fill.exchange,
            fill.side, num(fill.shares), num(fill.price), fill.perm_id, fill.client_id, 0,
            num(fill.cum_qty), num(fill.avg_price), fill.order_ref, "", "", "", 0, False,
        )
    )  # fmt: skip


def exec_details_end(req_id: int) -> bytes:
    return encode_fields((Out.EXECUTION_DATA_END, 1, req_id))


def commission_report(fill: Fill) -> bytes:
    """commissionReport (59); must follow the execDetails with the same exec id."""
    realized = UNSET_DOUBLE if fill.realized_pnl is None else num(fill.realized_pnl)
    return encode_fields(
        (
            Out.COMMISSION_REPORT,
            1, fill.exec_id, num(fill.commission), fill.commission_currency, realized,
            UNSET_DOUBLE, "",
        )
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# account

AnyContract = Instrument | ContractSpec


def _c_common(c: AnyContract) -> tuple[Field, ...]:
    if isinstance(c, Instrument):
        mult = str(c.multiplier) if c.sec_type in ("OPT", "FOP", "FUT") else ""
        return (
            c.con_id, c.symbol, c.sec_type, c.last_trade_date, num(c.strike or 0), c.right, mult,
        )  # fmt: skip
    return (
        c.con_id, c.symbol, c.sec_type, c.last_trade_date, num(c.strike or 0), c.right,
        c.multiplier,
    )  # fmt: skip


def update_account_value(key: str, value: str, currency: str, account: str) -> bytes:
    return encode_fields((Out.ACCT_VALUE, 2, key, value, currency, account))


def update_portfolio(
    contract: AnyContract,
    position: Number,
    market_price: Number,
    market_value: Number,
    average_cost: Number,
    unrealized_pnl: Number,
    realized_pnl: Number,
    account: str,
) -> bytes:
    """updatePortfolio (7), version 8; carries primaryExchange, not exchange."""
    c = contract
    return encode_fields(
        (
            Out.PORTFOLIO_VALUE, 8, *_c_common(c), c.primary_exchange, c.currency, c.local_symbol,
            c.trading_class, num(position), num(market_price), num(market_value),
            num(average_cost), num(unrealized_pnl), num(realized_pnl), account,
        )
    )  # fmt: skip


def update_account_time(hh_mm: str) -> bytes:
    return encode_fields((Out.ACCT_UPDATE_TIME, 1, hh_mm))


def account_download_end(account: str) -> bytes:
    return encode_fields((Out.ACCT_DOWNLOAD_END, 1, account))


def position(account: str, contract: AnyContract, position: Number, avg_cost: Number) -> bytes:
    """position (61), version 3."""
    c = contract
    return encode_fields(
        (
            Out.POSITION_DATA, 3, account, *_c_common(c), c.exchange, c.currency, c.local_symbol,
            c.trading_class, num(position), num(avg_cost),
        )
    )  # fmt: skip


def position_end() -> bytes:
    return encode_fields((Out.POSITION_END, 1))


def account_summary(req_id: int, account: str, tag: str, value: str, currency: str) -> bytes:
    return encode_fields((Out.ACCOUNT_SUMMARY, 1, req_id, account, tag, value, currency))


def account_summary_end(req_id: int) -> bytes:
    return encode_fields((Out.ACCOUNT_SUMMARY_END, 1, req_id))


def account_update_multi(
    req_id: int, account: str, model_code: str, key: str, value: str, currency: str
) -> bytes:
    return encode_fields(
        (Out.ACCOUNT_UPDATE_MULTI, 1, req_id, account, model_code, key, value, currency)
    )


def account_update_multi_end(req_id: int) -> bytes:
    return encode_fields((Out.ACCOUNT_UPDATE_MULTI_END, 1, req_id))


def pnl(
    req_id: int, daily: Number | None, unrealized: Number | None, realized: Number | None
) -> bytes:
    """pnl (94), the reqPnL reply, no version; None is sent as UNSET_DOUBLE."""
    return encode_fields(
        (Out.PNL, req_id, _or(daily, UNSET_DOUBLE), _or(unrealized, UNSET_DOUBLE),
         _or(realized, UNSET_DOUBLE))
    )  # fmt: skip
