"""The client commands' argument parser: every subcommand, its arguments and the shared
connection and output options."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

PROG = "ibkr-broker"
EXIT_OK, EXIT_BROKER, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad command-line usage (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def _common() -> _Parser:
    common = _Parser(add_help=False)
    group = common.add_argument_group("connection and output")
    group.add_argument("--target", help="server host:port (env IBKR_BROKER_TARGET, default "
                       "127.0.0.1:50051)")  # fmt: skip
    group.add_argument("--token", help="bearer token (env IBKR_BROKER_TOKEN)")
    group.add_argument("--ca-cert", help="PEM root CA: connect with TLS (env IBKR_BROKER_CA_CERT)")
    group.add_argument("--client-cert", help="PEM client certificate for mutual TLS")
    group.add_argument("--client-key", help="PEM client key for mutual TLS")
    group.add_argument("--timeout", type=float, help="deadline per call in seconds (default 10)")
    group.add_argument("--json", action="store_true", help="print JSON instead of tables")
    group.add_argument("--plain", action="store_true", help="plain text tables (no rich)")
    group.add_argument("-v", "--verbose", action="store_true", help="log retries and reconnects")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Client commands of ibkr-broker.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    common = [_common()]

    def add(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=common, help=help, description=help)

    add("status", "connection state, accounts, paper or live")
    p = add("contract", "resolve a contract: every match of a (partial) spec")
    p.add_argument("symbol")
    contract_options(p)
    p = add("chain", "option chain of an underlying: its expiries and strikes")
    p.add_argument("symbol")
    p.add_argument("--sec-type", default="STK", help="security type of the underlying")
    p = add("quote", "a quote snapshot: quote SYMBOL (options: --sec-type OPT --expiry ...)")
    p.add_argument("symbol")
    contract_options(p)
    p = add("quotes", "live quotes of one or more stocks, until Ctrl-C, --count or --seconds")
    p.add_argument("symbols", nargs="+", metavar="SYMBOL")
    p.add_argument("--count", type=int, help="stop after this many quote updates")
    p.add_argument("--seconds", type=float, help="stop after this many seconds")
    for name, text in (("account", "account summary values"),
                       ("positions", "positions with market value and PnL")):  # fmt: skip
        p = add(name, text)
        p.add_argument("--account", default="", help="only this account")
    _data_commands(add)
    p = add("orders", "orders, newest first")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--open", action="store_true", help="only orders that can still fill")
    which.add_argument("--completed", action="store_true", help="only finished orders")
    p.add_argument("--account", default="", help="only this account")
    p = add("order", "one order with its fills: order ORDER_ID")
    p.add_argument("order_id")
    _trading_commands(add)
    return parser


def _data_commands(add: Any) -> None:
    p = add("bars", "historical bars: bars SYMBOL [--duration '1 D'] [--bar-size '5 mins'] "
            "[--chart]")  # fmt: skip
    p.add_argument("symbol")
    p.add_argument("--sec-type", default="STK", help="security type (default STK)")
    p.add_argument("--duration", default="1 D", help="IB duration, e.g. '3600 S', '1 D', '1 W'")
    p.add_argument("--bar-size", default="5 mins", help="IB bar size, e.g. '1 min', '1 day'")
    p.add_argument("--what", default="trades", help="trades (default), midpoint, bid, ask, "
                   "bid_ask, adjusted_last, historical_volatility, implied_volatility")  # fmt: skip
    p.add_argument("--end", help="end time, ISO 8601 (default now; no zone = UTC)")
    p.add_argument("--outside-rth", action="store_true", help="include outside regular hours")
    p.add_argument("--chart", action="store_true", help="draw a chart instead of the table")
    p.add_argument("--height", type=int, default=12, help="chart height in lines (default 12)")
    p = add("pnl", "live PnL of the accounts (and positions), until Ctrl-C, --count or --seconds")
    p.add_argument("--account", action="append", default=[], help="only this account "
                   "(repeatable; default every managed account)")  # fmt: skip
    p.add_argument("--positions", action="store_true", help="also each position's PnL")
    p.add_argument("--count", type=int, help="stop after this many updates")
    p.add_argument("--seconds", type=float, help="stop after this many seconds")
    p = add("depth", "a live level-2 book: depth SYMBOL [--rows N], until Ctrl-C, --count or "
            "--seconds")  # fmt: skip
    p.add_argument("symbol")
    p.add_argument("--sec-type", default="STK", help="security type (default STK)")
    p.add_argument("--rows", type=int, default=10, help="rows per side, 1 to 50 (default 10)")
    p.add_argument("--count", type=int, help="stop after this many book updates")
    p.add_argument("--seconds", type=float, help="stop after this many seconds")


def _trading_commands(add: Any) -> None:
    for side in ("buy", "sell"):
        p = add(side, f"place a {side} order: {side} SYMBOL QUANTITY [--limit P] [--stop P]")
        p.add_argument("symbol")
        p.add_argument("quantity")
        order_options(p)
        p.add_argument("--trail-amount", help="trailing distance in price units")
        p.add_argument("--trail-percent", help="trailing distance in percent")
        p.add_argument("--option", action="store_true", help="an option: needs --expiry, "
                       "--strike, --right")  # fmt: skip
        p.add_argument("--expiry", help="option expiry YYYYMMDD")
        p.add_argument("--strike", help="option strike")
        p.add_argument("--right", help="option right C or P")
        p.add_argument("--take-profit", help="attach a take-profit limit at this price")
        p.add_argument("--stop-loss", help="attach a stop-loss at this price")
        p.add_argument("--outside-rth", action="store_true", help="allow outside regular hours")

    p = add("combo", "place a combo (spread) order: combo buy|sell SYMBOL QUANTITY --leg ... "
            "--leg ...")  # fmt: skip
    p.add_argument("side", choices=("buy", "sell"))
    p.add_argument("symbol", help="the underlying's symbol (the legs are its stock or options)")
    p.add_argument("quantity", help="units of the combo")
    p.add_argument("--leg", action="append", default=[], required=True, metavar="LEG",
                   help="ACTION:RATIO:WHAT, WHAT = STK, a con_id, or RIGHT:EXPIRY:STRIKE of an "
                   "option, e.g. buy:1:C:20260116:190 (at least two)")  # fmt: skip
    order_options(p, stop=False)

    p = add("modify", "change a working order: modify ORDER_ID [--quantity Q] [--limit P] ...")
    p.add_argument("order_id")
    p.add_argument("--quantity", help="new total quantity")
    p.add_argument("--limit", help="new limit price")
    p.add_argument("--stop", help="new stop price")
    p.add_argument("--trail-amount", help="new trailing distance in price units")
    p.add_argument("--trail-percent", help="new trailing distance in percent")
    p.add_argument("--tif", help="new time in force: day, gtc, ioc, fok, opg")
    p.add_argument("--request-id", help="idempotency key (default: a new UUID)")

    p = add("cancel", "cancel a working order: cancel ORDER_ID")
    p.add_argument("order_id")
    p = add("halt", "kill switch (admin): cancel every open order and refuse new ones")
    p.add_argument("--reason", default="", help="why (kept in the status and the audit log)")
    p.add_argument("--request-id", help="idempotency key (default: a new UUID)")
    p = add("resume", "re-arm trading after halt (admin)")
    p.add_argument("--request-id", help="idempotency key (default: a new UUID)")


def order_options(p: argparse.ArgumentParser, stop: bool = True) -> None:
    p.add_argument("--limit", help="limit price (of a combo: the net price per unit)")
    if stop:
        p.add_argument("--stop", help="stop price (a stop or stop-limit order)")
    p.add_argument("--tif", default="day", help="day (default), gtc, ioc, fok, opg")
    p.add_argument("--what-if", action="store_true", help="preview margin and commission")
    p.add_argument("--account", help="account to trade in")
    p.add_argument("--request-id", help="idempotency key (default: a new UUID)")
    p.add_argument("--live", action="store_true",
                   help="confirm that the server trades a LIVE account")  # fmt: skip


def contract_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sec-type", default="STK", help="STK (default), OPT, FUT, CASH, IND, FOP")
    p.add_argument("--exchange", help="routing exchange (default SMART)")
    p.add_argument("--primary-exchange", help="listing exchange, e.g. NASDAQ")
    p.add_argument("--currency", help="currency (default USD)")
    p.add_argument("--expiry", help="last trade date YYYYMMDD or month YYYYMM")
    p.add_argument("--strike", help="option strike")
    p.add_argument("--right", help="option right C or P")
