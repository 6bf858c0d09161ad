"""`ibkr-broker edge --bus nats://HOST:PORT --listen HOST:PORT`: the gRPC API from NATS."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from . import logs
from .cli import add_log_options, apply_log_args, security_summary
from .config import Config, ConfigError, load, validate


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="ibkr-broker edge",
        description="Serve the gRPC API from NATS JetStream: no TWS connection, no state; "
        "commands go to the gateway that owns the account.",
    )
    p.add_argument("--config", type=Path, help="TOML settings ([security] applies here too)")
    p.add_argument("--bus", metavar="nats://HOST:PORT", help="the NATS server (or [bus] url)")
    p.add_argument("--listen", help="gRPC address HOST:PORT (default 127.0.0.1:50051)")
    p.add_argument("--data-dir", help="where the audit log lives (default ./data)")
    add_log_options(p)
    return p.parse_args(list(argv))


def apply_args(config: Config, args: argparse.Namespace) -> Config:
    if args.bus:
        config = config.with_overrides("bus", url=args.bus)
    if args.listen:
        config = config.with_overrides("server", listen=args.listen)
    if args.data_dir:
        config = config.with_overrides("server", data_dir=args.data_dir)
    return apply_log_args(config, args)


async def run(config: Config) -> None:
    from .edge_app import EdgeApp

    edge = EdgeApp(config)
    await edge.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    host = config.server.listen.rpartition(":")[0]
    print(
        f"ibkr-broker edge serving ibkr_broker.v1.BrokerService on {host}:{edge.port} "
        f"from {config.bus.url}",
        flush=True,
    )
    print(f"  {security_summary(config)}", flush=True)
    try:
        await stop.wait()
    finally:
        await edge.stop()


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    try:
        config = apply_args(load(args.config), args)
        validate(config)
        if not config.bus.url:
            raise ConfigError("give --bus nats://HOST:PORT (or [bus] url)")
    except ConfigError as exc:
        print(f"ibkr-broker edge: {exc}", file=sys.stderr)
        return 2
    logs.configure(config.server.log_level, config.server.log_format)
    try:
        asyncio.run(run(config))
    except ConfigError as exc:
        print(f"ibkr-broker edge: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"ibkr-broker edge: {exc}", file=sys.stderr)
        return 1
    return 0
