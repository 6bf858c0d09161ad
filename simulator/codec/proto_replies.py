"""Server -> client messages in the protobuf era (server version >= 213). Pure: no I/O.

The same builders, with the same signatures, as ``responses.py`` (the text era): a session picks
one module or the other by the version it negotiated. Each returns one framed ``bytes``
(``uint32_be(len) + uint32_be(id + 200) + protobuf``); ``historical_data`` returns two frames
(HistoricalData, then HistoricalDataEnd, which carries the start and end the text era put in
the bars message). Order messages are in ``proto_order_replies.py`` and re-exported here.

Every builder decodes in ibapi 10.50's ``Decoder.processProtoBuf`` into the same callback
arguments as its text twin (tests/unit/test_sim_proto_codec.py), except what a newer version
spells differently: from 214 an execution's UTC time is "YYYYMMDD-HH:MM:SSZ" (``utc_time``).
Where the text era sends IB's "unset" spelling, the protobuf form either leaves the field out
(ibapi reads the same unset value) or sends the same sentinel (commissionReport's realized PnL
and yield, which ibapi reads as 0.0 when absent). Schemas: ibapi's shipped ``ibapi.protobuf``
modules, used as data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ibapi.protobuf import (
    AccountDataEnd_pb2,
    AccountSummary_pb2,
    AccountSummaryEnd_pb2,
    AccountUpdateMulti_pb2,
    AccountUpdateMultiEnd_pb2,
    AccountUpdateTime_pb2,
    AccountValue_pb2,
    CommissionAndFeesReport_pb2,
    ContractData_pb2,
    ContractDataEnd_pb2,
    CurrentTime_pb2,
    ErrorMessage_pb2,
    ExecutionDetails_pb2,
    ExecutionDetailsEnd_pb2,
    HistoricalData_pb2,
    HistoricalDataBar_pb2,
    HistoricalDataEnd_pb2,
    HistoricalDataUpdate_pb2,
    ManagedAccounts_pb2,
    MarketDataType_pb2,
    NextValidId_pb2,
    PnL_pb2,
    PortfolioValue_pb2,
    Position_pb2,
    PositionEnd_pb2,
    SecDefOptParameter_pb2,
    SecDefOptParameterEnd_pb2,
    SymbolSamples_pb2,
    TickGeneric_pb2,
    TickOptionComputation_pb2,
    TickPrice_pb2,
    TickReqParams_pb2,
    TickSize_pb2,
    TickSnapshotEnd_pb2,
    TickString_pb2,
)

from ..model import ContractSpec, Fill, HistoricalBar, Instrument
from .ids import Out
from .proto_order_replies import (
    UNSET_DOUBLE,
    Number,
    Proto,
    completed_order,
    completed_orders_end,
    contract_proto,
    frame,
    open_order,
    open_order_end,
    order_status,
)
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

# --------------------------------------------------------------------------------------------
# connection and misc


def next_valid_id(order_id: int) -> bytes:
    return frame(Out.NEXT_VALID_ID, NextValidId_pb2.NextValidId(orderId=order_id))


def managed_accounts(accounts: Sequence[str]) -> bytes:
    msg = ManagedAccounts_pb2.ManagedAccounts(accountsList=",".join(accounts))
    return frame(Out.MANAGED_ACCTS, msg)


def error(req_id: int, code: int, text: str, advanced_json: str = "") -> bytes:
    """errMsg (4); protobuf strings carry any text, so no escaping is needed."""
    msg = ErrorMessage_pb2.ErrorMessage(id=req_id, errorCode=code, errorMsg=text)
    if advanced_json:
        msg.advancedOrderRejectJson = advanced_json
    return frame(Out.ERR_MSG, msg)


def current_time(epoch_seconds: int) -> bytes:
    return frame(Out.CURRENT_TIME, CurrentTime_pb2.CurrentTime(currentTime=epoch_seconds))


# --------------------------------------------------------------------------------------------
# market data


def tick_price(
    req_id: int, tick_type: int, price: Number, size: Number | None = None, attrib_mask: int = 0
) -> bytes:
    msg = TickPrice_pb2.TickPrice(reqId=req_id, tickType=tick_type, price=float(price),
                                  attrMask=attrib_mask)
    if size is not None:
        msg.size = num(size)
    return frame(Out.TICK_PRICE, msg)


def tick_size(req_id: int, tick_type: int, size: Number | None) -> bytes:
    msg = TickSize_pb2.TickSize(reqId=req_id, tickType=tick_type)
    if size is not None:
        msg.size = num(size)
    return frame(Out.TICK_SIZE, msg)


def tick_string(req_id: int, tick_type: int, value: str) -> bytes:
    msg = TickString_pb2.TickString(reqId=req_id, tickType=tick_type, value=value)
    return frame(Out.TICK_STRING, msg)


def tick_generic(req_id: int, tick_type: int, value: Number) -> bytes:
    msg = TickGeneric_pb2.TickGeneric(reqId=req_id, tickType=tick_type, value=float(value))
    return frame(Out.TICK_GENERIC, msg)


def market_data_type(req_id: int, data_type: int) -> bytes:
    msg = MarketDataType_pb2.MarketDataType(reqId=req_id, marketDataType=data_type)
    return frame(Out.MARKET_DATA_TYPE, msg)


def tick_req_params(
    req_id: int, min_tick: Number, bbo_exchange: str = "", snapshot_permissions: int = 0
) -> bytes:
    msg = TickReqParams_pb2.TickReqParams(reqId=req_id, minTick=num(min_tick),
                                          bboExchange=bbo_exchange,
                                          snapshotPermissions=snapshot_permissions)
    return frame(Out.TICK_REQ_PARAMS, msg)


def tick_snapshot_end(req_id: int) -> bytes:
    return frame(Out.TICK_SNAPSHOT_END, TickSnapshotEnd_pb2.TickSnapshotEnd(reqId=req_id))


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
    """None = not computed: the field is left out (ibapi reads None, as from -1/-2 in text)."""
    msg = TickOptionComputation_pb2.TickOptionComputation(reqId=req_id, tickType=tick_type,
                                                          tickAttrib=tick_attrib)
    values = (("impliedVol", iv), ("delta", delta), ("optPrice", opt_price),
              ("pvDividend", pv_div), ("gamma", gamma), ("vega", vega), ("theta", theta),
              ("undPrice", und_price))  # fmt: skip
    for name, value in values:
        if value is not None:
            setattr(msg, name, float(value))
    return frame(Out.TICK_OPTION_COMPUTATION, msg)


# --------------------------------------------------------------------------------------------
# contracts


def _instrument_contract(inst: Instrument) -> Proto:
    is_opt = inst.sec_type in ("OPT", "FOP", "FUT")
    ltd = f"{inst.last_trade_date} 16:00 {inst.time_zone_id}" if inst.last_trade_date else ""
    multiplier = str(inst.multiplier) if is_opt or inst.multiplier != 1 else ""
    return contract_proto(
        con_id=inst.con_id, symbol=inst.symbol, sec_type=inst.sec_type, last_trade_date=ltd,
        strike=inst.strike or 0, right=inst.right, multiplier=multiplier,
        exchange=inst.exchange, primary_exchange=inst.primary_exchange, currency=inst.currency,
        local_symbol=inst.local_symbol, trading_class=inst.trading_class,
    )  # fmt: skip


def contract_data(req_id: int, inst: Instrument) -> bytes:
    """contractData (10): the contract and the details the text era sends at 178."""
    msg = ContractData_pb2.ContractData(reqId=req_id, contract=_instrument_contract(inst))
    d = msg.contractDetails
    d.marketName = inst.trading_class
    d.minTick = num(inst.min_tick)
    d.orderTypes = ",".join(inst.order_types)
    d.validExchanges = ",".join(inst.valid_exchanges)
    d.priceMagnifier = 1
    d.underConId = inst.underlying_con_id
    d.longName = inst.long_name
    d.contractMonth = inst.last_trade_date[:6]
    d.industry = inst.industry
    d.category = inst.category
    d.timeZoneId = inst.time_zone_id
    d.tradingHours = inst.trading_hours
    d.liquidHours = inst.liquid_hours
    d.aggGroup = 0
    d.underSymbol = inst.underlying_symbol
    d.underSecType = inst.under_sec_type if inst.underlying_con_id else ""
    d.realExpirationDate = inst.last_trade_date
    d.stockType = "COMMON" if inst.sec_type == "STK" else ""
    d.minSize = d.sizeIncrement = d.suggestedSizeIncrement = "1"
    return frame(Out.CONTRACT_DATA, msg)


def contract_data_end(req_id: int) -> bytes:
    return frame(Out.CONTRACT_DATA_END, ContractDataEnd_pb2.ContractDataEnd(reqId=req_id))


def security_definition_option_parameter(
    req_id: int,
    exchange: str,
    underlying_con_id: int,
    trading_class: str,
    multiplier: str,
    expirations: Sequence[str],
    strikes: Sequence[Number],
) -> bytes:
    msg = SecDefOptParameter_pb2.SecDefOptParameter(
        reqId=req_id, exchange=exchange, underlyingConId=underlying_con_id,
        tradingClass=trading_class, multiplier=multiplier, expirations=list(expirations),
        strikes=[float(s) for s in strikes],
    )
    return frame(Out.SECURITY_DEFINITION_OPTION_PARAMETER, msg)


def security_definition_option_parameter_end(req_id: int) -> bytes:
    msg = SecDefOptParameterEnd_pb2.SecDefOptParameterEnd(reqId=req_id)
    return frame(Out.SECURITY_DEFINITION_OPTION_PARAMETER_END, msg)


def symbol_samples(
    req_id: int, matches: Sequence[tuple[Instrument, Sequence[str]]]
) -> bytes:
    msg = SymbolSamples_pb2.SymbolSamples(reqId=req_id)
    for inst, derivs in matches:
        description = msg.contractDescriptions.add()
        c = description.contract
        c.conId, c.symbol, c.secType = inst.con_id, inst.symbol, inst.sec_type
        c.primaryExch, c.currency, c.description = (inst.primary_exchange, inst.currency,
                                                     inst.long_name)
        c.issuerId = ""
        description.derivativeSecTypes.extend(derivs)
    return frame(Out.SYMBOL_SAMPLES, msg)


def _bar(b: HistoricalBar) -> Proto:
    return HistoricalDataBar_pb2.HistoricalDataBar(
        date=b.date, open=float(b.open), high=float(b.high), low=float(b.low),
        close=float(b.close), volume=num(b.volume), WAP=num(b.wap), barCount=b.count,
    )


def historical_data(req_id: int, start: str, end: str, bars: Iterable[HistoricalBar]) -> bytes:
    """Two frames: historicalData (17) with the bars, then historicalDataEnd (108)."""
    msg = HistoricalData_pb2.HistoricalData(reqId=req_id,
                                            historicalDataBars=[_bar(b) for b in bars])
    end_msg = HistoricalDataEnd_pb2.HistoricalDataEnd(reqId=req_id, startDateStr=start,
                                                      endDateStr=end)
    return frame(Out.HISTORICAL_DATA, msg) + frame(Out.HISTORICAL_DATA_END, end_msg)


def historical_data_update(req_id: int, bar: HistoricalBar) -> bytes:
    msg = HistoricalDataUpdate_pb2.HistoricalDataUpdate(reqId=req_id, historicalDataBar=_bar(bar))
    return frame(Out.HISTORICAL_DATA_UPDATE, msg)


# --------------------------------------------------------------------------------------------
# executions


UTC_Z_MIN = 214  # ibapi MIN_SERVER_VER_ADD_Z_SUFFIX_TO_UTC_DATE_TIME


def utc_time(time_utc: str, server_version: int) -> str:
    """An execution's "YYYYMMDD HH:MM:SS UTC" as the negotiated version spells it: from 214 a
    UTC time carries a glued "Z" ("YYYYMMDD-HH:MM:SSZ")."""
    if server_version < UTC_Z_MIN:
        return time_utc
    date, clock = time_utc.split()[:2]
    return f"{date}-{clock}Z"


def exec_details(req_id: int, fill: Fill, server_version: int = 213) -> bytes:
    """execDetails (11); req_id -1 for live fills; the time as ``utc_time`` spells it."""
    c = fill.contract
    msg = ExecutionDetails_pb2.ExecutionDetails(reqId=req_id, contract=contract_proto(
        con_id=c.con_id, symbol=c.symbol, sec_type=c.sec_type, last_trade_date=c.last_trade_date,
        strike=c.strike or 0, right=c.right, multiplier=c.multiplier, exchange=c.exchange,
        currency=c.currency, local_symbol=c.local_symbol, trading_class=c.trading_class,
    ))  # fmt: skip
    e = msg.execution
    e.orderId, e.execId, e.acctNumber = fill.order_id, fill.exec_id, fill.account
    e.time = utc_time(fill.time_utc, server_version)
    e.exchange, e.side, e.shares, e.price = (fill.exchange, fill.side, num(fill.shares),
                                             float(fill.price))
    e.permId, e.clientId, e.isLiquidation = fill.perm_id, fill.client_id, False
    e.cumQty, e.avgPrice, e.orderRef = num(fill.cum_qty), float(fill.avg_price), fill.order_ref
    e.lastLiquidity, e.isPriceRevisionPending = 0, False
    return frame(Out.EXECUTION_DATA, msg)


def exec_details_end(req_id: int) -> bytes:
    msg = ExecutionDetailsEnd_pb2.ExecutionDetailsEnd(reqId=req_id)
    return frame(Out.EXECUTION_DATA_END, msg)


def commission_report(fill: Fill) -> bytes:
    """commissionReport (59); an unset realized PnL (an opening fill) is left out, as TWS does
    (ibapi's classic callback then reads 0.0; its commissionAndFeesReportProtoBuf sees the
    field absent); the yield goes as IB's UNSET_DOUBLE, as in the text era."""
    msg = CommissionAndFeesReport_pb2.CommissionAndFeesReport(
        execId=fill.exec_id, commissionAndFees=float(fill.commission),
        currency=fill.commission_currency, bondYield=UNSET_DOUBLE,
    )
    if fill.realized_pnl is not None:
        msg.realizedPNL = float(fill.realized_pnl)
    return frame(Out.COMMISSION_REPORT, msg)


# --------------------------------------------------------------------------------------------
# account

AnyContract = Instrument | ContractSpec


def _account_contract(c: AnyContract, *, exchange: bool) -> Proto:
    """The contract block of updatePortfolio (primary exchange) or position (exchange)."""
    if isinstance(c, Instrument):
        multiplier = str(c.multiplier) if c.sec_type in ("OPT", "FOP", "FUT") else ""
    else:
        multiplier = c.multiplier
    return contract_proto(
        con_id=c.con_id, symbol=c.symbol, sec_type=c.sec_type, last_trade_date=c.last_trade_date,
        strike=c.strike or 0, right=c.right, multiplier=multiplier,
        exchange=c.exchange if exchange else "",
        primary_exchange="" if exchange else c.primary_exchange, currency=c.currency,
        local_symbol=c.local_symbol, trading_class=c.trading_class,
    )  # fmt: skip


def update_account_value(key: str, value: str, currency: str, account: str) -> bytes:
    msg = AccountValue_pb2.AccountValue(key=key, value=value, currency=currency,
                                        accountName=account)
    return frame(Out.ACCT_VALUE, msg)


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
    msg = PortfolioValue_pb2.PortfolioValue(
        contract=_account_contract(contract, exchange=False), position=num(position),
        marketPrice=float(market_price), marketValue=float(market_value),
        averageCost=float(average_cost), unrealizedPNL=float(unrealized_pnl),
        realizedPNL=float(realized_pnl), accountName=account,
    )
    return frame(Out.PORTFOLIO_VALUE, msg)


def update_account_time(hh_mm: str) -> bytes:
    msg = AccountUpdateTime_pb2.AccountUpdateTime(timeStamp=hh_mm)
    return frame(Out.ACCT_UPDATE_TIME, msg)


def account_download_end(account: str) -> bytes:
    msg = AccountDataEnd_pb2.AccountDataEnd(accountName=account)
    return frame(Out.ACCT_DOWNLOAD_END, msg)


def position(account: str, contract: AnyContract, position: Number, avg_cost: Number) -> bytes:
    msg = Position_pb2.Position(account=account,
                                contract=_account_contract(contract, exchange=True),
                                position=num(position), avgCost=float(avg_cost))
    return frame(Out.POSITION_DATA, msg)


def position_end() -> bytes:
    return frame(Out.POSITION_END, PositionEnd_pb2.PositionEnd())


def account_summary(req_id: int, account: str, tag: str, value: str, currency: str) -> bytes:
    msg = AccountSummary_pb2.AccountSummary(reqId=req_id, account=account, tag=tag, value=value,
                                            currency=currency)
    return frame(Out.ACCOUNT_SUMMARY, msg)


def account_summary_end(req_id: int) -> bytes:
    msg = AccountSummaryEnd_pb2.AccountSummaryEnd(reqId=req_id)
    return frame(Out.ACCOUNT_SUMMARY_END, msg)


def account_update_multi(
    req_id: int, account: str, model_code: str, key: str, value: str, currency: str
) -> bytes:
    msg = AccountUpdateMulti_pb2.AccountUpdateMulti(reqId=req_id, account=account,
                                                    modelCode=model_code, key=key, value=value,
                                                    currency=currency)
    return frame(Out.ACCOUNT_UPDATE_MULTI, msg)


def account_update_multi_end(req_id: int) -> bytes:
    msg = AccountUpdateMultiEnd_pb2.AccountUpdateMultiEnd(reqId=req_id)
    return frame(Out.ACCOUNT_UPDATE_MULTI_END, msg)


def pnl(
    req_id: int, daily: Number | None, unrealized: Number | None, realized: Number | None
) -> bytes:
    """pnl (94); None is left out (ibapi reads UNSET_DOUBLE, as from the text era)."""
    msg = PnL_pb2.PnL(reqId=req_id)
    for name, value in (("dailyPnL", daily), ("unrealizedPnL", unrealized),
                        ("realizedPnL", realized)):
        if value is not None:
            setattr(msg, name, float(value))
    return frame(Out.PNL, msg)
