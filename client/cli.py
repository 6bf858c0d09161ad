"""The client half of the `ibkr-broker` command: status, contract, chain, quotes, account,
positions, orders, buy, sell, cancel, halt, resume.

`main(argv)` takes the subcommand name first (`["buy", "AAPL", "10", "--limit", "190"]`), as
`ibkr_broker.cli` passes it. Every subcommand takes --target, --token, --ca-cert, --client-cert,
--client-key, --timeout, --json (machine-readable output) and --plain (no rich). Exit status:
0 done, 1 the broker refused or failed, 2 bad usage; on an error one line goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from . import contracts
from .adapter import IBKRAdapter
from .broker_client import BrokerClient
from .connection import ClientConfig
from .errors import BrokerError
from .message_dicts import (
    account_summary_to_dict,
    contract_details_to_dict,
    get_status_response_to_dict,
    kill_switch_to_dict,
    option_chain_to_dict,
    order_to_dict,
    position_to_dict,
    quote_status_to_dict,
    quote_to_dict,
)
from .render import Output, cell
from .streams import StreamReconnected

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
    _contract_options(p)

    p = add("chain", "option chain of an underlying: expiries and strikes")
    p.add_argument("symbol")
    p.add_argument("--sec-type", default="STK", help="security type of the underlying")

    p = add("quotes", "live quotes of one or more stocks, until Ctrl-C, --count or --seconds")
    p.add_argument("symbols", nargs="+", metavar="SYMBOL")
    p.add_argument("--count", type=int, help="stop after this many quote updates")
    p.add_argument("--seconds", type=float, help="stop after this many seconds")

    p = add("account", "account summary values")
    p.add_argument("--account", default="", help="only this account")

    p = add("positions", "positions with market value and PnL")
    p.add_argument("--account", default="", help="only this account")

    p = add("orders", "orders, newest first")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--open", action="store_true", help="only orders that can still fill")
    which.add_argument("--completed", action="store_true", help="only finished orders")
    p.add_argument("--account", default="", help="only this account")

    for side in ("buy", "sell"):
        p = add(side, f"place a {side} order: {side} SYMBOL QUANTITY [--limit P] [--stop P]")
        p.add_argument("symbol")
        p.add_argument("quantity")
        p.add_argument("--limit", help="limit price (a limit or stop-limit order)")
        p.add_argument("--stop", help="stop price (a stop or stop-limit order)")
        p.add_argument("--trail-amount", help="trailing distance in price units")
        p.add_argument("--trail-percent", help="trailing distance in percent")
        p.add_argument("--tif", default="day", help="day (default), gtc, ioc, fok, opg")
        p.add_argument("--option", action="store_true", help="an option: needs --expiry, "
                       "--strike, --right")  # fmt: skip
        p.add_argument("--expiry", help="option expiry YYYYMMDD")
        p.add_argument("--strike", help="option strike")
        p.add_argument("--right", help="option right C or P")
        p.add_argument("--take-profit", help="attach a take-profit limit at this price")
        p.add_argument("--stop-loss", help="attach a stop-loss at this price")
        p.add_argument("--what-if", action="store_true", help="preview margin and commission")
        p.add_argument("--account", help="account to trade in")
        p.add_argument("--outside-rth", action="store_true", help="allow outside regular hours")
        p.add_argument("--request-id", help="idempotency key (default: a new UUID)")
        p.add_argument("--live", action="store_true",
                       help="confirm that the server trades a LIVE account")  # fmt: skip

    p = add("cancel", "cancel an order: cancel ORDER_ID")
    p.add_argument("order_id")

    p = add("halt", "kill switch (admin): cancel every open order and refuse new ones")
    p.add_argument("--reason", default="", help="why (kept in the status and the audit log)")
    p.add_argument("--request-id", help="idempotency key (default: a new UUID)")

    p = add("resume", "re-arm trading after halt (admin)")
    p.add_argument("--request-id", help="idempotency key (default: a new UUID)")
    return parser


def _contract_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sec-type", default="STK", help="STK (default), OPT, FUT, CASH, IND, FOP")
    p.add_argument("--exchange", help="routing exchange (default SMART)")
    p.add_argument("--primary-exchange", help="listing exchange, e.g. NASDAQ")
    p.add_argument("--currency", help="currency (default USD)")
    p.add_argument("--expiry", help="last trade date YYYYMMDD or month YYYYMM")
    p.add_argument("--strike", help="option strike")
    p.add_argument("--right", help="option right C or P")


# --- subcommands ---------------------------------------------------------------------------


def cmd_status(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    status = get_status_response_to_dict(client.status())
    if out.json_mode:
        out.json(status)
        return EXIT_OK
    shown = dict(status)
    shown["tws"] = f"{shown.pop('tws_host')}:{shown.pop('tws_port')}"
    kill_switch = shown.pop("kill_switch")
    shown["halted"] = kill_switch["engaged"]
    if kill_switch["engaged"]:
        shown.update({f"halt_{k}": v for k, v in kill_switch.items() if k != "engaged"})
    out.fields("ibkr-broker status", shown)
    return EXIT_OK


def cmd_contract(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    spec = contracts.contract(
        args.symbol,
        args.sec_type,
        exchange=args.exchange,
        primary_exchange=args.primary_exchange,
        currency=args.currency,
        last_trade_date=args.expiry,
        strike=args.strike,
        right=args.right,
    )
    matches = [contract_details_to_dict(d) for d in client.resolve_contract(spec)]
    if out.json_mode:
        out.json(matches)
        return EXIT_OK
    columns = [
        "con_id", "symbol", "sec_type", "exchange", "primary_exchange", "currency",
        "last_trade_date", "strike", "right", "multiplier", "local_symbol", "long_name",
    ]  # fmt: skip
    out.table(f"{len(matches)} match(es)", columns, [[m[c] for c in columns] for m in matches])
    return EXIT_OK


def cmd_chain(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    chain = option_chain_to_dict(
        client.option_chain(contracts.contract(args.symbol, args.sec_type))
    )
    if out.json_mode:
        out.json(chain)
        return EXIT_OK
    rows = []
    for c in chain["chains"]:
        expirations, strikes = c["expirations"], c["strikes"]
        rows.append([
            c["exchange"], c["trading_class"], c["multiplier"], len(expirations),
            _span(expirations), len(strikes), _span(strikes),
        ])  # fmt: skip
    title = f"option chain of {chain['symbol']} (con_id {chain['underlying_con_id']})"
    columns = ["exchange", "trading_class", "multiplier", "expiries", "first..last",
               "strikes", "low..high"]  # fmt: skip
    out.table(title, columns, rows)
    return EXIT_OK


def _span(values: Sequence[Any]) -> str:
    if not values:
        return "-"
    return f"{values[0]}..{values[-1]}" if len(values) > 1 else str(values[0])


QUOTE_COLUMNS = ["symbol", "bid", "ask", "last", "bid_size", "ask_size", "volume", "state",
                 "updated_at"]  # fmt: skip


def cmd_quotes(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    if args.count is not None and args.count <= 0:
        raise UsageError("--count must be positive")
    if args.seconds is not None and args.seconds <= 0:
        raise UsageError("--seconds must be positive")
    symbols = [contracts.check_symbol(s) for s in args.symbols]
    stream = client.stream_quotes([contracts.stock(s) for s in symbols])
    timer = threading.Timer(args.seconds, stream.cancel) if args.seconds else None
    rows: dict[str, dict[str, Any]] = {s: {"symbol": s} for s in symbols}
    seen = 0

    def table() -> list[list[Any]]:
        return [[row.get(c) for c in QUOTE_COLUMNS] for row in rows.values()]

    def updates() -> Any:
        nonlocal seen
        for item in stream:
            if isinstance(item, StreamReconnected):
                yield {"type": "reconnected", "attempts": item.attempts,
                       "error": item.error.one_line()}  # fmt: skip
                continue
            if item.HasField("status"):
                status = quote_status_to_dict(item.status)
                rows.setdefault(status["symbol"], {"symbol": status["symbol"]})
                rows[status["symbol"]]["state"] = status["state"]
                yield {"type": "status", **status}
            elif item.HasField("quotes"):
                for quote in item.quotes.quotes:
                    values = quote_to_dict(quote)
                    rows.setdefault(values["symbol"], {"symbol": values["symbol"]})
                    rows[values["symbol"]].update(values)
                    seen += 1
                    yield {"type": "quote", **values}
                    if args.count is not None and seen >= args.count:
                        return

    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        if out.json_mode:
            for update in updates():
                out.json_line(update)
        elif out.use_rich:
            _live_quotes(out, updates(), table)
        else:
            for update in updates():
                out.line(_quote_line(update))
    except KeyboardInterrupt:
        pass
    finally:
        if timer is not None:
            timer.cancel()
        stream.close()
    return EXIT_OK


def _live_quotes(out: Output, updates: Any, table: Callable[[], list[list[Any]]]) -> None:
    from rich.live import Live

    console = out.console()
    title = "quotes (Ctrl-C to stop)"
    with Live(out.rich_table(title, QUOTE_COLUMNS, table()), console=console,
              auto_refresh=False) as live:  # fmt: skip
        for _ in updates:
            live.update(out.rich_table(title, QUOTE_COLUMNS, table()), refresh=True)
    console.print()


def _quote_line(update: dict[str, Any]) -> str:
    if update["type"] == "quote":
        parts = [f"{c}={cell(update.get(c))}" for c in QUOTE_COLUMNS[1:7]]
        return f"{update['symbol']:<8} " + " ".join(parts)
    if update["type"] == "status":
        error = f" ({update['error']})" if update.get("error") else ""
        return f"{update['symbol']:<8} state={update['state']}{error}"
    return f"stream re-opened after {update['attempts']} attempt(s): {update['error']}"


def cmd_account(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    accounts = [account_summary_to_dict(a) for a in client.account(args.account)]
    if out.json_mode:
        out.json(accounts)
        return EXIT_OK
    if not accounts:
        out.line("no account reported")
        return EXIT_OK
    fields = [f for f in accounts[0] if f != "account_id"]
    rows = [[f, *(a[f] for a in accounts)] for f in fields]
    out.table("account summary", ["field", *(a["account_id"] for a in accounts)], rows)
    return EXIT_OK


def cmd_positions(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    positions = [position_to_dict(p) for p in client.positions(args.account)]
    if out.json_mode:
        out.json(positions)
        return EXIT_OK
    columns = ["account_id", "symbol", "sec_type", "last_trade_date", "strike", "right",
               "quantity", "avg_price", "market_price", "market_value", "unrealized_pnl",
               "realized_pnl"]  # fmt: skip
    out.table("positions", columns, [[p[c] for c in columns] for p in positions])
    return EXIT_OK


ORDER_COLUMNS = ["order_id", "created_at", "symbol", "side", "quantity", "type", "limit_price",
                 "stop_price", "tif", "status", "filled_quantity", "avg_fill_price"]  # fmt: skip


def cmd_orders(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    which = "open" if args.open else "completed" if args.completed else None
    orders = [order_to_dict(o) for o in client.list_orders(which, args.account)]
    if out.json_mode:
        out.json(orders)
        return EXIT_OK
    title = f"{which or 'all'} orders"
    out.table(title, ORDER_COLUMNS, [[o[c] for c in ORDER_COLUMNS] for o in orders])
    return EXIT_OK


def cmd_order(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    order: dict[str, Any] = {
        "symbol": args.symbol,
        "quantity": args.quantity,
        "side": args.command,
        "type": _order_type(args),
        "tif": args.tif,
        "limit_price": args.limit,
        "stop_price": args.stop,
        "trailing_amount": args.trail_amount,
        "trailing_percent": args.trail_percent,
        "take_profit": args.take_profit,
        "stop_loss": args.stop_loss,
        "what_if": args.what_if,
        "account": args.account,
        "outside_rth": args.outside_rth,
        "request_id": args.request_id,
    }
    if args.option:
        order.update(secType="OPT", expiry=args.expiry, strike=args.strike, right=args.right)
    elif args.expiry or args.strike or args.right:
        raise UsageError("--expiry, --strike and --right need --option")
    adapter = IBKRAdapter({"paper_trading": not args.live}, client=client)
    result = adapter.place_order(order)
    if out.json_mode:
        out.json(result)
    elif result.get("what_if"):
        out.fields("what-if (nothing was placed)", result["preview"])
    else:
        _show_order(out, "order placed", result)
    return EXIT_OK


def _order_type(args: argparse.Namespace) -> str:
    if args.trail_amount is not None or args.trail_percent is not None:
        return "trailing_stop_limit" if args.limit is not None else "trailing_stop"
    if args.limit is not None and args.stop is not None:
        return "stop_limit"
    if args.stop is not None:
        return "stop"
    return "limit" if args.limit is not None else "market"


def _show_order(out: Output, title: str, order: dict[str, Any]) -> None:
    hidden = ("contract", "executions", "bracket_orders", "what_if")
    shown = {k: v for k, v in order.items() if k not in hidden and v not in (None, "")}
    out.fields(title, shown)
    for fill in order.get("executions", []):
        out.line(
            f"  fill {fill['execution_id']}: {cell(fill['quantity'])} @ {cell(fill['price'])}"
            f" on {cell(fill['exchange'])}, commission {cell(fill['commission'])}"
        )
    for child in order.get("bracket_orders", []):
        out.fields(f"bracket child {child['order_id']}", {c: child[c] for c in ORDER_COLUMNS})


def cmd_cancel(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    order = order_to_dict(client.cancel_order(args.order_id))
    if out.json_mode:
        out.json(order)
    else:
        _show_order(out, "cancel requested", order)
    return EXIT_OK


def cmd_halt(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    response = client.halt_trading(args.reason, request_id=args.request_id)
    result = {
        **kill_switch_to_dict(response.kill_switch),
        "cancelled_order_ids": list(response.cancelled_order_ids),
    }
    if out.json_mode:
        out.json(result)
    else:
        out.fields("trading halted: new orders are refused until `ibkr-broker resume`", result)
    return EXIT_OK


def cmd_resume(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    result = kill_switch_to_dict(client.resume_trading(request_id=args.request_id))
    if out.json_mode:
        out.json(result)
    else:
        out.fields("trading resumed", result)
    return EXIT_OK


COMMANDS: dict[str, Callable[[BrokerClient, argparse.Namespace, Output], int]] = {
    "status": cmd_status,
    "contract": cmd_contract,
    "chain": cmd_chain,
    "quotes": cmd_quotes,
    "account": cmd_account,
    "positions": cmd_positions,
    "orders": cmd_orders,
    "buy": cmd_order,
    "sell": cmd_order,
    "cancel": cmd_cancel,
    "halt": cmd_halt,
    "resume": cmd_resume,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one client subcommand; argv[0] is its name. Returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    command = args_list[0] if args_list else ""
    prefix = f"{PROG} {command}".strip()
    try:
        try:
            args = build_parser().parse_args(args_list)
        except SystemExit as exc:  # --help printed its text
            return exc.code if isinstance(exc.code, int) else EXIT_OK
        out = Output(sys.stdout, json_mode=args.json, plain=args.plain)
        config = ClientConfig.from_env(
            target=args.target,
            token=args.token,
            ca_cert=args.ca_cert,
            client_cert=args.client_cert,
            client_key=args.client_key,
            timeout=args.timeout,
        )
        if args.verbose:
            logging.basicConfig(level=logging.INFO, format=f"{prefix}: %(message)s")
        with BrokerClient(config=config) as client:
            return COMMANDS[args.command](client, args, out)
    except UsageError as exc:
        _fail(prefix, str(exc))
        return EXIT_USAGE
    except ValueError as exc:  # a bad value caught before anything was sent
        _fail(prefix, str(exc))
        return EXIT_USAGE
    except BrokerError as exc:
        _fail(prefix, exc.one_line())
        return EXIT_BROKER
    except KeyboardInterrupt:
        _fail(prefix, "interrupted")
        return 130
    except BrokenPipeError:  # e.g. `ibkr-broker quotes AAPL --json | head -1`
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # the promise is one line, never a traceback
        _fail(prefix, f"unexpected {type(exc).__name__}: {exc}")
        return EXIT_BROKER


def _fail(prefix: str, message: str) -> None:
    text = " ".join(message.split())
    sys.stderr.write(f"{prefix}: error: {text}\n")
    sys.stderr.flush()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
