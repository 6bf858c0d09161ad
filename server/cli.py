"""`ibkr-broker serve`: run the gRPC broker server (with `--sim`, against the TWS simulator)."""

from __future__ import annotations

import argparse
import asyncio
import shlex
import shutil
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import logs
from .config import Config, ConfigError, load, validate


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="ibkr-broker serve",
        description="Serve the ibkr_broker.v1 gRPC API from one TWS / IB Gateway session.",
    )
    p.add_argument("--config", type=Path, help="TOML settings (see config/server.example.toml)")
    p.add_argument("--listen", help="gRPC address HOST:PORT (default 127.0.0.1:50051)")
    p.add_argument("--tws", metavar="HOST:PORT", help="TWS / IB Gateway API address")
    p.add_argument("--client-id", type=int, help="TWS API client id")
    p.add_argument("--data-dir", help="where the order store lives (default ./data)")
    p.add_argument(
        "--sim",
        action="store_true",
        help="start the embedded TWS simulator and connect to it (no IB account)",
    )
    p.add_argument("--sim-seed", type=int, default=1, help="simulator random seed (default 1)")
    p.add_argument(
        "--metrics",
        metavar="HOST:PORT",
        help="serve Prometheus metrics at http://HOST:PORT/metrics (default off)",
    )
    p.add_argument(
        "--bus",
        metavar="nats://HOST:PORT",
        help="publish to and answer on NATS JetStream, for edges (default off: one process)",
    )
    p.add_argument(
        "--standby",
        action="store_true",
        help="with --bus: connect to TWS only when the leader's lease lapses, then take over",
    )
    add_log_options(p)
    return p.parse_args(list(argv))


def add_log_options(p: argparse.ArgumentParser) -> None:
    """--log-level and --log-format, the same for `serve` and `edge`."""
    p.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR")
    p.add_argument(
        "--log-format",
        choices=("text", "json"),
        help="text (default) or json: one JSON object per line (time, level, logger, message, "
        "fields)",
    )


def apply_log_args(config: Config, args: argparse.Namespace) -> Config:
    if args.log_level:
        config = config.with_overrides("server", log_level=args.log_level.upper())
    if args.log_format:
        config = config.with_overrides("server", log_format=args.log_format)
    return config


def apply_args(config: Config, args: argparse.Namespace) -> Config:
    if args.listen:
        config = config.with_overrides("server", listen=args.listen)
    if args.data_dir:
        config = config.with_overrides("server", data_dir=args.data_dir)
    config = apply_log_args(config, args)
    if args.metrics:
        config = config.with_overrides("metrics", listen=args.metrics)
    if getattr(args, "bus", None):
        config = config.with_overrides("bus", url=args.bus)
    if getattr(args, "standby", False):
        config = config.with_overrides("bus", standby=True)
    if args.client_id is not None:
        config = config.with_overrides("tws", client_id=args.client_id)
    if args.tws:
        host, _, port = args.tws.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"--tws: {args.tws!r} is not HOST:PORT")
        config = config.with_overrides("tws", host=host, port=int(port))
    return config


async def serve(config: Config, sim_seed: int | None) -> None:
    simulator: Any = None
    if sim_seed is not None:
        from ibkr_broker.simulator.server import SimulatorServer

        simulator = SimulatorServer("127.0.0.1", 0, seed=sim_seed)
        await simulator.start()
        config = config.with_overrides("tws", host="127.0.0.1", port=simulator.port)
    try:
        app = await start_app(config)
    except (ConfigError, OSError):
        if simulator is not None:
            await simulator.stop()
        raise
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    host = config.server.listen.rpartition(":")[0]
    where = f"{host}:{app.port}"
    tws = (
        f"TWS simulator on 127.0.0.1:{config.tws.port}"
        if simulator
        else (f"TWS at {config.tws.host}:{config.tws.port}")
    )
    print(
        f"ibkr-broker serving ibkr_broker.v1.BrokerService on {where} ({tws}, "
        f"{'paper' if config.trading.paper_trading else 'LIVE'} trading)",
        flush=True,
    )
    print(f"  {security_summary(config)}", flush=True)
    if app.metrics_endpoint is not None:
        m_host = config.metrics.listen.rpartition(":")[0]
        print(f"  metrics: http://{m_host}:{app.metrics_endpoint.port}/metrics", flush=True)
    print("  try it from another terminal (Ctrl-C here stops the server):", flush=True)
    print(f"    {client_command()} status --target {where}", flush=True)
    try:
        stopped = asyncio.ensure_future(app.wait_stopped())  # e.g. the lease was lost
        waited = asyncio.ensure_future(stop.wait())
        await asyncio.wait([stopped, waited], return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        waited.cancel()
    finally:
        print("draining streams and disconnecting from TWS...", flush=True)
        await app.stop()
        if simulator is not None:
            await simulator.stop()


async def start_app(config: Config) -> Any:
    """A started BrokerApp; a standby first waits for the leader's lease to lapse."""
    from .app import BrokerApp, store_path

    if not config.bus.standby:
        app = BrokerApp(config)
        await app.start()
        return app
    from .bus.lease import LeaseHeld, lease_name
    from .bus.standby import wait_and_restore

    name = lease_name(config.tws.host, config.tws.port, config.tws.client_id)
    while True:
        await wait_and_restore(config.bus.url, name, config.bus.lease_ttl, store_path(config))
        app = BrokerApp(config)
        try:
            await app.start()
            return app
        except LeaseHeld:  # another standby was quicker: wait for its lease in turn
            continue


def client_command() -> str:
    """The client command as this user can paste it: `ibkr-broker` when the one on PATH is this
    environment's, else the script beside this Python (e.g. .venv/bin/ibkr-broker), else
    `python -m ibkr_broker` of this interpreter."""
    script = Path(sys.executable).parent / "ibkr-broker"
    if not script.exists():
        return f"{shlex.quote(sys.executable)} -m ibkr_broker"
    on_path = shutil.which("ibkr-broker")
    if on_path is not None and Path(on_path).resolve() == script.resolve():
        return "ibkr-broker"
    try:
        shown = str(script.relative_to(Path.cwd()))
    except ValueError:  # not below the working directory: the absolute path
        shown = str(script)
    return shlex.quote(shown if "/" in shown else f"./{shown}")


def security_summary(config: Config) -> str:
    s = config.security
    tls = "mutual TLS" if s.client_ca_file else "TLS" if s.tls_cert_file else "plaintext"
    tokens = f"{len(s.tokens)} token(s)" if s.tokens else "no tokens (authentication off)"
    extras = [
        what
        for what, on in (("read-only", s.read_only), ("client allowlist", bool(s.allowed_clients)))
        if on
    ]
    return ", ".join([tls, tokens, *extras])


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    try:
        config = apply_args(load(args.config), args)
        validate(config)  # again after the flags: refuses the network without TLS and tokens
    except ConfigError as exc:
        print(f"ibkr-broker serve: {exc}", file=sys.stderr)
        return 2
    logs.configure(config.server.log_level, config.server.log_format)
    try:
        asyncio.run(serve(config, args.sim_seed if args.sim else None))
    except ConfigError as exc:
        print(f"ibkr-broker serve: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"ibkr-broker serve: {exc}", file=sys.stderr)
        return 1
    return 0
