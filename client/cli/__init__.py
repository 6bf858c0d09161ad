"""The client half of the `ibkr-broker` command: status, contract, chain, quote, quotes, bars,
pnl, depth, account, positions, orders, order, buy, sell, combo, modify, cancel, halt, resume.

`main(argv)` takes the subcommand name first (`["buy", "AAPL", "10", "--limit", "190"]`), as
`ibkr_broker.cli` passes it. Every subcommand takes --target, --token, --ca-cert, --client-cert,
--client-key, --timeout, --json (machine-readable output) and --plain (no rich). Tables fit the
terminal (COLUMNS). Exit status: 0 done, 1 the broker refused or failed, 2 bad usage; on an
error one line goes to stderr.

parser.py holds the arguments, queries.py the commands that read, trading.py those that trade,
quotes.py the live quotes, data.py bars (with a terminal chart), PnL and depth, show.py how an
order is shown.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Sequence

from ..broker_client import BrokerClient
from ..connection import ClientConfig
from ..errors import BrokerError
from ..render import Output
from .data import cmd_bars, cmd_depth, cmd_pnl
from .parser import EXIT_BROKER, EXIT_OK, EXIT_USAGE, PROG, UsageError, build_parser
from .queries import (
    cmd_account,
    cmd_chain,
    cmd_contract,
    cmd_order,
    cmd_orders,
    cmd_positions,
    cmd_quote,
    cmd_status,
)
from .quotes import cmd_quotes
from .trading import cmd_cancel, cmd_combo, cmd_halt, cmd_modify, cmd_place, cmd_resume

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS: dict[str, Callable[[BrokerClient, argparse.Namespace, Output], int]] = {
    "status": cmd_status,
    "contract": cmd_contract,
    "chain": cmd_chain,
    "quote": cmd_quote,
    "quotes": cmd_quotes,
    "bars": cmd_bars,
    "pnl": cmd_pnl,
    "depth": cmd_depth,
    "account": cmd_account,
    "positions": cmd_positions,
    "orders": cmd_orders,
    "order": cmd_order,
    "buy": cmd_place,
    "sell": cmd_place,
    "combo": cmd_combo,
    "modify": cmd_modify,
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
    except (UsageError, ValueError) as exc:  # ValueError: a bad value caught before sending
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
