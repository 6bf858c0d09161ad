"""Client commands that read: status, contract, chain, quote, account, positions, orders and
order (one order with its fills)."""

from __future__ import annotations

import argparse
from typing import Any

from .. import contracts
from ..broker_client import BrokerClient
from ..message_dicts import (
    account_summary_to_dict,
    contract_details_to_dict,
    get_status_response_to_dict,
    option_chain_to_dict,
    order_to_dict,
    position_to_dict,
    quote_to_dict,
)
from ..render import Output
from .parser import EXIT_OK
from .show import ORDER_COLUMNS, ORDER_OPTIONAL, show_order


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
    gateways = shown.pop("gateways")
    if len(gateways) > 1:  # several logins behind one edge: one line each
        for i, g in enumerate(gateways, 1):
            shown[f"gateway_{i}"] = (
                f"{','.join(g['accounts'])} {g['connection_state']} "
                f"(TWS {g['tws_host']}:{g['tws_port']}, server version {g['server_version']})"
                + (f": {g['trading_disabled_reason']}" if g["trading_disabled_reason"] else "")
            )
    out.fields("ibkr-broker status", shown)
    return EXIT_OK


def _contract_of(args: argparse.Namespace) -> Any:
    return contracts.contract(
        args.symbol,
        args.sec_type,
        exchange=args.exchange,
        primary_exchange=args.primary_exchange,
        currency=args.currency,
        last_trade_date=args.expiry,
        strike=args.strike,
        right=args.right,
    )


CONTRACT_COLUMNS = ["con_id", "symbol", "sec_type", "exchange", "primary_exchange", "currency",
                    "last_trade_date", "strike", "right", "multiplier", "local_symbol",
                    "long_name"]  # fmt: skip
CONTRACT_OPTIONAL = ["primary_exchange", "local_symbol", "currency", "multiplier", "exchange",
                     "sec_type", "long_name"]  # fmt: skip


def cmd_contract(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    matches = [contract_details_to_dict(d) for d in client.resolve_contract(_contract_of(args))]
    if out.json_mode:
        out.json(matches)
        return EXIT_OK
    rows = [[m[c] for c in CONTRACT_COLUMNS] for m in matches]
    out.table(f"{len(matches)} match(es)", CONTRACT_COLUMNS, rows, optional=CONTRACT_OPTIONAL,
              wrap=("long_name",))  # fmt: skip
    return EXIT_OK


def cmd_chain(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    """Every chain (exchange, trading class) with all of its expiries and strikes."""
    chain = option_chain_to_dict(
        client.option_chain(contracts.contract(args.symbol, args.sec_type))
    )
    if out.json_mode:
        out.json(chain)
        return EXIT_OK
    out.line(f"option chain of {chain['symbol']} (con_id {chain['underlying_con_id']})")
    for c in chain["chains"]:
        out.line(f"{c['exchange']}: trading class {c['trading_class']}, "
                 f"multiplier {c['multiplier']}")  # fmt: skip
        out.words(f"expiries ({len(c['expirations'])})", c["expirations"])
        out.words(f"strikes ({len(c['strikes'])})", c["strikes"])
    if not chain["chains"]:
        out.line("(no options listed)")
    return EXIT_OK


QUOTE_FIELDS = ["symbol", "bid", "ask", "last", "bid_size", "ask_size", "last_size", "volume",
                "open", "high", "low", "close", "market_data_type", "last_trade_time",
                "updated_at"]  # fmt: skip


def cmd_quote(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    quote = quote_to_dict(client.quote(_contract_of(args)))
    if out.json_mode:
        out.json(quote)
        return EXIT_OK
    shown = {k: quote[k] for k in QUOTE_FIELDS}
    if quote["greeks"]:
        shown.update({f"greeks_{k}": v for k, v in quote["greeks"].items()})
    out.fields(f"quote of {quote['symbol']} (con_id {quote['con_id']})", shown)
    return EXIT_OK


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


POSITION_COLUMNS = ["account_id", "symbol", "sec_type", "last_trade_date", "strike", "right",
                    "quantity", "avg_price", "market_price", "market_value", "unrealized_pnl",
                    "realized_pnl"]  # fmt: skip
POSITION_OPTIONAL = ["realized_pnl", "account_id", "sec_type", "market_price", "right",
                     "strike", "last_trade_date", "avg_price"]  # fmt: skip


def cmd_positions(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    positions = [position_to_dict(p) for p in client.positions(args.account)]
    if out.json_mode:
        out.json(positions)
        return EXIT_OK
    rows = [[p[c] for c in POSITION_COLUMNS] for p in positions]
    out.table("positions", POSITION_COLUMNS, rows, optional=POSITION_OPTIONAL)
    return EXIT_OK


def cmd_orders(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    which = "open" if args.open else "completed" if args.completed else None
    orders = [order_to_dict(o) for o in client.list_orders(which, args.account)]
    if out.json_mode:
        out.json(orders)
        return EXIT_OK
    rows = [[o[c] for c in ORDER_COLUMNS] for o in orders]
    out.table(f"{which or 'all'} orders", ORDER_COLUMNS, rows, optional=ORDER_OPTIONAL)
    return EXIT_OK


def cmd_order(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    order = order_to_dict(client.get_order(args.order_id))
    if out.json_mode:
        out.json(order)
    else:
        show_order(out, f"order {order['order_id']}", order)
    return EXIT_OK
