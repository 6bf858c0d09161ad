"""``ibkr-broker sim``: run the TWS simulator, or send a fault command to a running one.

    ibkr-broker sim --host 127.0.0.1 --port 7497 --seed 1 [--tick-interval 0.25]
                    [--account DU1234567] [--control-port 7498] [--max-server-version N]
    ibkr-broker sim ctl [--control-port 7498] COMMAND...     e.g. ctl restart 5

Faults on a running simulator:
  * the control port (loopback only, off unless --control-port is given) takes one command per
    line: drop | restart SECONDS | notice 1100|1101|1102 | delay MS | reject-next | status
    (see simulator/faults.py); ``ibkr-broker sim ctl ...`` sends one and prints the answer,
    ``nc 127.0.0.1 7498`` works too;
  * SIGUSR1 drops every client connection.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Sequence
from decimal import Decimal

from .codec.connection import check_ceiling
from .faults import ControlServer
from .server import DEFAULT_MAX_SERVER_VERSION, SimulatorServer

log = logging.getLogger("ibkr_broker.simulator")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ibkr-broker sim",
                                description="TWS simulator: a paper account on a TWS API socket "
                                            "(the text era up to server version 178, the "
                                            "protobuf era 213..226). 'ibkr-broker sim ctl "
                                            "--help' for fault commands.")
    p.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7497, help="TWS API port (default 7497)")
    p.add_argument("--seed", type=int, default=1, help="random-walk seed (default 1)")
    p.add_argument("--tick-interval", type=float, default=0.25,
                   help="seconds between market steps (default 0.25)")
    p.add_argument("--account", default="DU1234567", help="paper account id (DU...)")
    p.add_argument("--accounts", type=int, default=1, metavar="N",
                   help="an advisor login managing N paper accounts, numbered from --account "
                        "(default 1)")
    p.add_argument("--cash", type=Decimal, default=Decimal("1000000"),
                   help="starting cash in USD (default 1000000)")
    p.add_argument("--control-port", type=int, default=None,
                   help="loopback port for fault commands (default: off)")
    p.add_argument("--max-msg-rate", type=int, default=50,
                   help="messages/s per client before error 100 (0 = no limit; default 50)")
    p.add_argument("--disconnect-on-pacing", action="store_true",
                   help="close a client that exceeds the message rate")
    p.add_argument("--max-lines", type=int, default=100,
                   help="market data lines per client (default 100)")
    p.add_argument("--partial-fills", action="store_true", help="fill orders in two halves")
    p.add_argument("--max-tick-rate", type=int, default=0,
                   help="cap on tick messages/s per client (0 = none; default 0)")
    p.add_argument("--max-server-version", type=_ceiling, default=DEFAULT_MAX_SERVER_VERSION,
                   help="newest server version to answer: 100..178 keeps every client in the "
                        "text era, 213..226 gives clients that offer it (ibapi 10.40+) the "
                        "protobuf era; clients that offer at most 178 (ib_async) always get the "
                        f"text era (default {DEFAULT_MAX_SERVER_VERSION})")
    p.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return p


def _ceiling(text: str) -> int:
    try:
        return check_ceiling(int(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_ctl_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ibkr-broker sim ctl",
                                description="send one fault command to a running simulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--control-port", type=int, default=7498)
    p.add_argument("command", nargs="+",
                   help="drop | restart SECONDS | notice CODE | delay MS | reject-next | status")
    return p


def ctl(argv: Sequence[str]) -> int:
    args = build_ctl_parser().parse_args(argv)
    try:
        with socket.create_connection((args.host, args.control_port), timeout=10) as sock:
            sock.sendall(" ".join(args.command).encode() + b"\n")
            answer = sock.makefile("rb").readline().decode().strip()
    except OSError as exc:
        print(f"ibkr-broker sim ctl: cannot reach {args.host}:{args.control_port}: {exc}",
              file=sys.stderr)
        return 2
    print(answer)
    return 0 if answer.startswith("ok") else 1


async def serve(args: argparse.Namespace, ready: asyncio.Event | None = None,
                stop: asyncio.Event | None = None) -> None:
    server = SimulatorServer(
        args.host, args.port, seed=args.seed, tick_interval=args.tick_interval,
        account=args.account, accounts=args.accounts, cash=args.cash,
        max_msg_rate=args.max_msg_rate or None,
        disconnect_on_pacing=args.disconnect_on_pacing, max_market_data_lines=args.max_lines,
        partial_fills=args.partial_fills, max_tick_rate=args.max_tick_rate or None,
        max_server_version=args.max_server_version,
    )
    await server.start()
    control = None
    if args.control_port is not None:
        control = ControlServer(server.faults, args.control_port)
        await control.start()
        log.info("control port on 127.0.0.1:%d", control.port)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGUSR1, server.drop_all)
    print(f"simulator listening on {args.host}:{server.port} account {args.account} "
          f"seed {args.seed}" + (f" control {control.port}" if control else "")
          + f" max server version {args.max_server_version}", flush=True)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        if control is not None:
            await control.stop()
        await server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "ctl":
        return ctl(argv[1:])
    args = build_parser().parse_args(argv)
    if not 1 <= args.accounts <= 100:
        print("ibkr-broker sim: --accounts must be 1 to 100", file=sys.stderr)
        return 2
    if not args.account.startswith("D"):
        print("ibkr-broker sim: the account must be a paper account (DU...)", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
