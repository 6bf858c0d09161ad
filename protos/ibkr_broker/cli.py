"""The `ibkr-broker` command: dispatches to the server, the simulator or the client command line.

Each subcommand's module is imported only when that subcommand runs, so client commands never
load ibapi and `--help` is instant.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Sequence

from ibkr_broker import __version__

# subcommand -> (module with a `main(argv) -> int`, one-line help)
SERVER_COMMANDS = {
    "serve": ("ibkr_broker.server.cli", "run the gRPC broker server (--sim: with the simulator)"),
    "edge": ("ibkr_broker.server.edge_cli", "serve the gRPC API from NATS: edge --bus URL"),
    "sim": ("ibkr_broker.simulator.cli", "run the TWS simulator (a paper account on a socket)"),
    "certs": ("ibkr_broker.server.certs", "write a development CA, server and client certificates"),
    "token": ("ibkr_broker.server.tokens", "make a bearer token: token NAME read|trade|admin"),
}
CLIENT_COMMANDS = {
    name: ("ibkr_broker.client.cli", text)
    for name, text in {
        "status": "connection state, accounts, paper or live",
        "contract": "resolve a contract: contract SYMBOL",
        "chain": "option chain of an underlying (expiries, strikes): chain SYMBOL",
        "quote": "a quote snapshot: quote SYMBOL",
        "quotes": "live quotes: quotes SYMBOL...",
        "bars": "historical bars, a table or a chart: bars SYMBOL [--chart]",
        "pnl": "live PnL of the accounts (and positions)",
        "depth": "a live level-2 book: depth SYMBOL",
        "account": "account summary values",
        "positions": "positions with market value and PnL",
        "orders": "open and completed orders",
        "order": "one order with its fills: order ORDER_ID",
        "buy": "place a buy order",
        "sell": "place a sell order",
        "combo": "place a combo order: combo buy|sell SYMBOL QTY --leg ... --leg ...",
        "modify": "change a working order: modify ORDER_ID --limit P ...",
        "cancel": "cancel an order: cancel ORDER_ID",
        "halt": "kill switch (admin): cancel all orders, refuse new ones",
        "resume": "re-arm trading after halt (admin)",
    }.items()
}
# Needs the `mcp` extra; takes the rest of the command line like the server commands.
AGENT_COMMANDS = {
    "mcp": ("ibkr_broker.client.mcp_server.cli", "serve the broker's tools to MCP agents"),
}
COMMANDS = {**SERVER_COMMANDS, **CLIENT_COMMANDS, **AGENT_COMMANDS}
# What the `server` extra installs, by import name: the server commands check them up front (some
# are imported only once the server starts, too late for a clear message).
SERVER_EXTRA_MODULES = (
    "ibapi", "grpc_health", "grpc_reflection", "grpc_status", "cryptography", "prometheus_client",
)  # fmt: skip


def usage() -> str:
    lines = [
        f"ibkr-broker {__version__}: a gRPC broker gateway for Interactive Brokers",
        "",
        "usage: ibkr-broker COMMAND [ARGS...]   (ibkr-broker COMMAND --help for details)",
        "",
        "commands:",
    ]
    lines += [f"  {name:<10} {text}" for name, (_, text) in COMMANDS.items()]
    return "\n".join(lines)


def not_available(command: str, exc: ImportError) -> str:
    """Why a subcommand cannot run: a missing extra (and how to install it) or a broken install."""
    missing = exc.name or ""
    if missing == "ibkr_broker" or missing.startswith("ibkr_broker."):
        return f"not available: {exc} (the installation is incomplete: reinstall ibkr-broker)"
    if command in SERVER_COMMANDS:
        return (
            f"needs the server extra ({exc}): pip install 'ibkr-broker[server]' "
            "(with the command-line tables: 'ibkr-broker[server,cli]')"
        )
    return f"not available: {exc} (pip install 'ibkr-broker[cli]' adds the client's extras)"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if args[0] in ("-V", "--version"):
        print(f"ibkr-broker {__version__}")
        return 0
    command = args[0]
    if command not in COMMANDS:
        print(f"ibkr-broker: unknown command {command!r} (see ibkr-broker --help)", file=sys.stderr)
        return 2
    module_name = COMMANDS[command][0]
    try:
        if command in SERVER_COMMANDS:
            for name in SERVER_EXTRA_MODULES:
                if importlib.util.find_spec(name) is None:
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        module = importlib.import_module(module_name)
    except ImportError as exc:
        print(f"ibkr-broker {command}: {not_available(command, exc)}", file=sys.stderr)
        return 2
    run = module.main
    # Client subcommands share one module that takes the subcommand name; others take the rest.
    result: int = run(args) if command in CLIENT_COMMANDS else run(args[1:])
    return result


if __name__ == "__main__":
    raise SystemExit(main())
