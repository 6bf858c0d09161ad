"""Request handlers: one function per parsed request kind, called by the session."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from . import account_msgs as am
from . import history as hist
from . import sessions
from .codec import requests as rq
from .feeds import MarketDataSub
from .model import Instrument
from .orders import Rejection, resolve_contract

if TYPE_CHECKING:
    from .session import Session

log = logging.getLogger(__name__)

NO_SECDEF = "No security definition has been found for the request"
DELAYED_NOTICE = ("Requested market data is not subscribed. Displaying delayed market data.")

Handler = Callable[["Session", Any], None]
HANDLERS: dict[type, Handler] = {}


def handles(kind: type) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


# -- misc ---------------------------------------------------------------------------------------


@handles(rq.ReqIds)
def _req_ids(s: Session, req: rq.ReqIds) -> None:
    assert s.client_id is not None
    s.send(s.replies.next_valid_id(s.server.exchange.next_order_id(s.client_id)))


@handles(rq.ReqCurrentTime)
def _current_time(s: Session, req: rq.ReqCurrentTime) -> None:
    s.send(s.replies.current_time(s.now_epoch()))


@handles(rq.ReqManagedAccts)
def _managed_accounts(s: Session, req: rq.ReqManagedAccts) -> None:
    s.send(s.replies.managed_accounts([s.server.exchange.account]))


# -- contracts ----------------------------------------------------------------------------------


@handles(rq.ReqContractDetails)
def _contract_details(s: Session, req: rq.ReqContractDetails) -> None:
    matches = s.server.universe.resolve(req.contract)
    if not matches:
        s.send_error(req.req_id, 200, NO_SECDEF)
        return
    today = dt.datetime.fromtimestamp(s.now_epoch(), dt.UTC).date()
    s.send_many([s.replies.contract_data(req.req_id, _with_hours(inst, today))
                 for inst in matches])
    s.send(s.replies.contract_data_end(req.req_id))


def _with_hours(inst: Instrument, today: dt.date) -> Instrument:
    """The instrument with its sessions of the coming week (as of the request)."""
    schedule = sessions.schedule_for(inst.sec_type)
    return replace(inst, trading_hours=sessions.hours_text(schedule, today, use_rth=False),
                   liquid_hours=sessions.hours_text(schedule, today, use_rth=True))


@handles(rq.ReqSecDefOptParams)
def _sec_def_opt_params(s: Session, req: rq.ReqSecDefOptParams) -> None:
    for p in s.server.universe.option_params(req.underlying_symbol, req.underlying_con_id):
        s.send(s.replies.security_definition_option_parameter(
            req.req_id, p.exchange, p.underlying_con_id, p.trading_class, p.multiplier,
            p.expirations, p.strikes))
    s.send(s.replies.security_definition_option_parameter_end(req.req_id))


@handles(rq.ReqMatchingSymbols)
def _matching_symbols(s: Session, req: rq.ReqMatchingSymbols) -> None:
    s.send(s.replies.symbol_samples(req.req_id, s.server.universe.matching_symbols(req.pattern)))


# -- market data --------------------------------------------------------------------------------


@handles(rq.ReqMarketDataType)
def _market_data_type(s: Session, req: rq.ReqMarketDataType) -> None:
    if req.market_data_type not in (1, 2, 3, 4):
        s.send_error(-1, 321, "Error validating request: invalid market data type")
        return
    s.market_data_type = req.market_data_type


@handles(rq.ReqMktData)
def _mkt_data(s: Session, req: rq.ReqMktData) -> None:
    server = s.server
    try:
        inst, legs = resolve_contract(server.universe, req.contract)
    except Rejection as rej:
        s.send_error(req.req_id, rej.code, rej.message if rej.code != 200 else NO_SECDEF)
        return
    if not req.snapshot:
        if req.req_id in s.mkt:
            s.send_error(req.req_id, 322, f"Duplicate ticker id {req.req_id}")
            return
        if len(s.mkt) >= server.config.max_market_data_lines:
            s.send_error(req.req_id, 101, "Max number of tickers has been reached")
            return
    sub = MarketDataSub(req.req_id, inst, legs, delayed=s.market_data_type in (3, 4))
    for con_id in sub.con_ids:
        server.stats.mkt_data[con_id] += 1
    if sub.delayed:
        s.send_error(req.req_id, 10167, DELAYED_NOTICE)
    s.send(s.replies.market_data_type(req.req_id, s.market_data_type))
    tick = inst.min_tick if inst is not None else legs[0][0].min_tick
    s.send(s.replies.tick_req_params(req.req_id, tick, "9c0001", 3))
    if req.snapshot or req.regulatory_snapshot:
        s.send_many(sub.snapshot_frames(server.market, s.replies))
        return
    s.mkt[req.req_id] = sub
    if not server.connectivity_lost:
        s.send_many(sub.frames(server.market, s.replies))


@handles(rq.CancelMktData)
def _cancel_mkt_data(s: Session, req: rq.CancelMktData) -> None:
    if s.mkt.pop(req.req_id, None) is None:
        s.send_error(req.req_id, 300, f"Can't find EId with tickerId:{req.req_id}")


@handles(rq.ReqHistoricalData)
def _historical_data(s: Session, req: rq.ReqHistoricalData) -> None:
    server = s.server
    matches = server.universe.resolve(req.contract)
    if len(matches) != 1:
        s.send_error(req.req_id, 200, NO_SECDEF)
        return
    inst = matches[0]
    schedule = sessions.schedule_for(inst.sec_type)
    try:
        duration = hist.parse_duration(req.duration)
        bar_secs = hist.bar_seconds(req.bar_size)
        end = hist.end_epoch(req.end_date_time, s.now_epoch())
    except hist.HistoryError as exc:
        s.send_error(req.req_id, 321, f"Error validating request.-'bP' : cause - {exc}")
        return
    starts = sessions.bar_starts(schedule, req.use_rth, duration, bar_secs, end, hist.MAX_BARS)
    bars = server.market.history_at(inst.con_id, starts, bar_secs)
    start = bars[0].time if bars else end
    s.send(s.replies.historical_data(
        req.req_id, hist.range_text(start), hist.range_text(end),
        hist.to_historical(bars, bar_secs, req.format_date, schedule)))


@handles(rq.CancelHistoricalData)
def _cancel_historical(s: Session, req: rq.CancelHistoricalData) -> None:
    return None


# -- orders -------------------------------------------------------------------------------------


@handles(rq.PlaceOrder)
def _place_order(s: Session, req: rq.PlaceOrder) -> None:
    assert s.client_id is not None
    s.server.exchange.place(s.client_id, req.order)


@handles(rq.CancelOrder)
def _cancel_order(s: Session, req: rq.CancelOrder) -> None:
    assert s.client_id is not None
    s.server.exchange.cancel(s.client_id, req.order_id)


@handles(rq.ReqGlobalCancel)
def _global_cancel(s: Session, req: rq.ReqGlobalCancel) -> None:
    s.server.exchange.global_cancel()


def _send_open_orders(s: Session, client_id: int | None) -> None:
    for snap in s.server.exchange.open_orders(client_id):
        s.send(s.replies.open_order(snap))
        s.send(s.replies.order_status(snap))
    s.send(s.replies.open_order_end())


@handles(rq.ReqOpenOrders)
def _open_orders(s: Session, req: rq.ReqOpenOrders) -> None:
    _send_open_orders(s, None if s.client_id == 0 else s.client_id)


@handles(rq.ReqAllOpenOrders)
def _all_open_orders(s: Session, req: rq.ReqAllOpenOrders) -> None:
    _send_open_orders(s, None)


@handles(rq.ReqAutoOpenOrders)
def _auto_open_orders(s: Session, req: rq.ReqAutoOpenOrders) -> None:
    if s.client_id != 0:
        s.send_error(-1, 321, "Error validating request.-'cS' : cause - reqAutoOpenOrders "
                                  "is only allowed for client id 0")
        return
    s.auto_open_orders = req.auto_bind


@handles(rq.ReqCompletedOrders)
def _completed_orders(s: Session, req: rq.ReqCompletedOrders) -> None:
    for snap in s.server.exchange.completed_orders():
        s.send(s.replies.completed_order(snap, "", snap.status))
    s.send(s.replies.completed_orders_end())


@handles(rq.ReqExecutions)
def _executions(s: Session, req: rq.ReqExecutions) -> None:
    side = {"BUY": "BOT", "SELL": "SLD"}.get(req.side.upper(), req.side.upper())
    since = req.time.replace("-", " ").strip()
    for fill in s.server.exchange.executions():
        c = fill.contract
        if ((req.client_id and fill.client_id != req.client_id)
                or (req.account and fill.account != req.account)
                or (req.symbol and c.symbol != req.symbol.upper())
                or (req.sec_type and c.sec_type != req.sec_type.upper())
                or (req.exchange and req.exchange.upper() not in (fill.exchange, c.exchange))
                or (side and fill.side != side)
                or (since and fill.time_utc[:17] < since[:17])):
            continue
        s.send(s.replies.exec_details(req.req_id, fill, s.server_version))
        s.send(s.replies.commission_report(fill))
    s.send(s.replies.exec_details_end(req.req_id))


# -- account ------------------------------------------------------------------------------------


@handles(rq.ReqAccountUpdates)
def _account_updates(s: Session, req: rq.ReqAccountUpdates) -> None:
    s.account_updates = req.subscribe
    if req.subscribe:
        s.send_many(am.account_update_frames(s.replies, s.server.exchange, download_end=True))


@handles(rq.ReqAccountUpdatesMulti)
def _account_updates_multi(s: Session, req: rq.ReqAccountUpdatesMulti) -> None:
    s.multi[req.req_id] = req.model_code
    s.send_many(am.multi_frames(s.replies, s.server.exchange, req.req_id, req.model_code))
    s.send(s.replies.account_update_multi_end(req.req_id))


@handles(rq.CancelAccountUpdatesMulti)
def _cancel_multi(s: Session, req: rq.CancelAccountUpdatesMulti) -> None:
    s.multi.pop(req.req_id, None)


@handles(rq.ReqPositions)
def _positions(s: Session, req: rq.ReqPositions) -> None:
    s.positions = True
    s.send_many(am.position_frames(s.replies, s.server.exchange))
    s.send(s.replies.position_end())


@handles(rq.CancelPositions)
def _cancel_positions(s: Session, req: rq.CancelPositions) -> None:
    s.positions = False


@handles(rq.ReqAccountSummary)
def _account_summary(s: Session, req: rq.ReqAccountSummary) -> None:
    tags = req.tags or am.SUMMARY_TAGS
    s.summaries[req.req_id] = tags
    s.send_many(am.summary_frames(s.replies, s.server.exchange, req.req_id, tags))
    s.send(s.replies.account_summary_end(req.req_id))


@handles(rq.CancelAccountSummary)
def _cancel_summary(s: Session, req: rq.CancelAccountSummary) -> None:
    s.summaries.pop(req.req_id, None)


@handles(rq.ReqPnL)
def _pnl(s: Session, req: rq.ReqPnL) -> None:
    s.pnl.add(req.req_id)
    s.send(am.pnl_frame(s.replies, s.server.exchange, req.req_id))


@handles(rq.CancelPnL)
def _cancel_pnl(s: Session, req: rq.CancelPnL) -> None:
    s.pnl.discard(req.req_id)
