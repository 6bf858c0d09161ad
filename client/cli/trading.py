"""Client commands that trade: buy, sell, combo, modify, cancel, halt and resume."""

from __future__ import annotations

import argparse
from typing import Any

from .. import contracts
from ..adapter import IBKRAdapter
from ..broker_client import BrokerClient
from ..message_dicts import kill_switch_to_dict, order_to_dict
from ..render import Output
from .parser import EXIT_OK, UsageError
from .show import show_order


def cmd_place(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
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
    _show_placed(out, adapter.place_order(order))
    return EXIT_OK


def _order_type(args: argparse.Namespace) -> str:
    if args.trail_amount is not None or args.trail_percent is not None:
        return "trailing_stop_limit" if args.limit is not None else "trailing_stop"
    if args.limit is not None and args.stop is not None:
        return "stop_limit"
    if args.stop is not None:
        return "stop"
    return "limit" if args.limit is not None else "market"


def _show_placed(out: Output, result: dict[str, Any]) -> None:
    if out.json_mode:
        out.json(result)
    elif result.get("what_if"):
        out.fields("what-if (nothing was placed)", result["preview"])
    else:
        show_order(out, "order placed", result)


def cmd_combo(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    """A combo of the underlying's stock and options, each leg resolved to its con_id."""
    if len(args.leg) < 2:
        raise UsageError("a combo needs at least two --leg")
    legs = [_leg(client, args.symbol, text) for text in args.leg]
    adapter = IBKRAdapter({"paper_trading": not args.live}, client=client)
    combo = contracts.combo(args.symbol, legs)
    options: dict[str, Any] = {"tif": args.tif, "what_if": args.what_if}
    if args.account:
        options["account"] = args.account
    if args.request_id:
        options["request_id"] = args.request_id
    result = adapter.place_multi_leg_order(combo, args.side, args.quantity, args.limit, **options)
    _show_placed(out, result)
    return EXIT_OK


def _leg(client: BrokerClient, symbol: str, text: str) -> tuple[int, int, str, str]:
    """(con_id, ratio, action, exchange) of `ACTION:RATIO:WHAT` (WHAT: STK, a con_id, or
    RIGHT:EXPIRY:STRIKE of an option of `symbol`)."""
    parts = text.split(":")
    if len(parts) not in (3, 5) or not parts[1].isdigit() or int(parts[1]) < 1:
        raise UsageError(f"--leg {text!r}: expected ACTION:RATIO:STK, ACTION:RATIO:CON_ID or "
                         "ACTION:RATIO:RIGHT:EXPIRY:STRIKE, e.g. buy:1:C:20260116:190")  # fmt: skip
    action, ratio, what = parts[0], int(parts[1]), parts[2:]
    if len(what) == 1 and what[0].isdigit():
        return int(what[0]), ratio, action, "SMART"
    if len(what) == 1 and what[0].upper() == "STK":
        spec = contracts.stock(symbol)
    elif len(what) == 3:
        spec = contracts.contract(symbol, "OPT", right=what[0], last_trade_date=what[1],
                                  strike=what[2])  # fmt: skip
    else:
        raise UsageError(f"--leg {text!r}: {what[0]!r} is not STK, a con_id or an option")
    matches = client.resolve_contract(spec)
    if len(matches) != 1:
        raise UsageError(f"--leg {text!r} matches {len(matches)} contracts, not one")
    return matches[0].contract.con_id, ratio, action, "SMART"


def cmd_modify(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    changes = {
        "quantity": args.quantity,
        "limit_price": args.limit,
        "stop_price": args.stop,
        "trailing_amount": args.trail_amount,
        "trailing_percent": args.trail_percent,
        "tif": args.tif,
    }
    given = {k: v for k, v in changes.items() if v is not None}
    if not given:
        raise UsageError("nothing to change: give --quantity, --limit, --stop, --trail-amount, "
                         "--trail-percent or --tif")  # fmt: skip
    order = order_to_dict(client.modify_order(args.order_id, request_id=args.request_id, **given))
    if out.json_mode:
        out.json(order)
    else:
        show_order(out, f"order {order['order_id']} modified ({order['status']})", order)
    return EXIT_OK


def cmd_cancel(client: BrokerClient, args: argparse.Namespace, out: Output) -> int:
    """Cancel a working order; a finished one answers ORDER_NOT_CANCELLABLE (exit 1)."""
    order = order_to_dict(client.cancel_order(args.order_id))
    if out.json_mode:
        out.json(order)
        return EXIT_OK
    oid = order["order_id"]
    title = {
        "cancelled": f"order {oid} cancelled",
        "pending_cancel": f"cancel of order {oid} requested: TWS has not confirmed it yet",
        "filled": f"order {oid} filled before the cancel reached TWS: nothing was cancelled",
    }.get(order["status"], f"cancel of order {oid} requested (status {order['status']})")
    show_order(out, title, order)
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
