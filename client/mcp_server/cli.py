"""`ibkr-broker mcp`: serve the broker's tools to MCP clients (stdio, or HTTP with --listen).

    ibkr-broker mcp --server 127.0.0.1:50051 --token "$TOKEN"               # stdio
    ibkr-broker mcp --listen 127.0.0.1:8765 --confirm                       # streamable HTTP

Connection options are the client CLI's (--server/--target, --token, --ca-cert, --client-cert,
--client-key, --timeout, and the IBKR_BROKER_* variables). The `mcp` SDK is imported only here,
when the command runs, so the base client never needs it. Exit status: 0 stopped, 2 bad usage
or the SDK missing.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import socket
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from ..connection import ClientConfig
from .guard import DEFAULT_CONFIRM_TTL

PROG = "ibkr-broker mcp"
EXIT_OK, EXIT_USAGE = 0, 2
DEFAULT_HTTP_PORT = 8765
MCP_PATH = "/mcp"


class UsageError(Exception):
    """Bad command-line usage (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Serve ibkr-broker's tools over the Model Context Protocol.")
    conn = p.add_argument_group("the ibkr-broker server")
    conn.add_argument(
        "--server",
        "--target",
        dest="target",
        metavar="HOST:PORT",
        help="server host:port (env IBKR_BROKER_TARGET, default 127.0.0.1:50051)",
    )
    conn.add_argument("--token", help="bearer token (env IBKR_BROKER_TOKEN)")
    conn.add_argument("--ca-cert", help="PEM root CA: connect with TLS (env IBKR_BROKER_CA_CERT)")
    conn.add_argument("--client-cert", help="PEM client certificate for mutual TLS")
    conn.add_argument("--client-key", help="PEM client key for mutual TLS")
    conn.add_argument("--timeout", type=float, help="deadline per call in seconds (default 10)")
    mcp = p.add_argument_group("the MCP side")
    mcp.add_argument(
        "--listen",
        metavar="[HOST:]PORT",
        help="serve streamable HTTP on HOST:PORT (default host 127.0.0.1) at "
        f"{MCP_PATH}; without it, serve stdio",
    )
    mcp.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow --listen on a non-loopback address (the HTTP side has no auth)",
    )
    mcp.add_argument(
        "--read-only",
        action="store_true",
        help="expose only the read tools (no place, modify, cancel or halt)",
    )
    mcp.add_argument(
        "--confirm",
        action="store_true",
        help="place/modify first return a what-if preview and a confirmation token",
    )
    mcp.add_argument(
        "--confirm-ttl",
        type=float,
        default=DEFAULT_CONFIRM_TTL,
        metavar="SECONDS",
        help=f"how long a confirmation token is valid, seconds (default {DEFAULT_CONFIRM_TTL:g})",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    return p


def parse_listen(value: str, allow_remote: bool = False) -> tuple[str, int]:
    """`HOST:PORT`, `[V6]:PORT` or `PORT` (host 127.0.0.1); non-loopback needs allow_remote."""
    text = value.strip()
    host, _, port_text = text.rpartition(":") if ":" in text else ("", "", text)
    host = host.strip("[]") or "127.0.0.1"
    try:
        port = int(port_text)
    except ValueError:
        raise UsageError(f"--listen: port must be a number, got {value!r}") from None
    if not 0 <= port <= 65535:
        raise UsageError(f"--listen: port must be 0..65535, got {port}")
    if not allow_remote and not _is_loopback(host):
        raise UsageError(
            f"--listen: {host} is not a loopback address; the MCP HTTP endpoint has no "
            "authentication of its own (add --allow-remote to serve it anyway)"
        )
    return host, port


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the MCP server until stdin closes (stdio) or it is interrupted (HTTP)."""
    try:
        args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help printed its text
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except UsageError as exc:
        return _fail(str(exc))
    try:
        listen = parse_listen(args.listen, args.allow_remote) if args.listen else None
        config = ClientConfig.from_env(
            target=args.target,
            token=args.token,
            ca_cert=args.ca_cert,
            client_cert=args.client_cert,
            client_key=args.client_key,
            timeout=args.timeout,
        )
        if args.confirm_ttl <= 0:
            raise UsageError(f"--confirm-ttl must be positive seconds, got {args.confirm_ttl:g}")
    except (UsageError, ValueError) as exc:
        return _fail(str(exc))
    try:
        from .server import build_server
        from .tools import McpOptions
    except ImportError as exc:
        return _fail(f"the MCP SDK is not installed ({exc}); pip install 'ibkr-broker[mcp]'")
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if args.verbose else logging.WARNING,
        format=f"{PROG}: %(levelname)s %(name)s: %(message)s",
    )
    options = McpOptions(config, args.read_only, args.confirm, args.confirm_ttl)
    server = build_server(options)
    try:
        if listen is None:
            asyncio.run(server.run_stdio_async())
        else:
            asyncio.run(serve_http(server, *listen))
    except KeyboardInterrupt:
        pass
    return EXIT_OK


async def serve_http(server: Any, host: str, port: int) -> None:
    """Streamable HTTP at http://HOST:PORT/mcp; port 0 picks a free port (printed to stderr)."""
    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    app = server.streamable_http_app(streamable_http_path=MCP_PATH, host=host)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    shown = f"[{host}]" if ":" in host else host
    print(f"{PROG}: serving MCP on http://{shown}:{bound}{MCP_PATH}", file=sys.stderr, flush=True)
    await uvicorn.Server(config).serve(sockets=[sock])


def _fail(message: str) -> int:
    sys.stderr.write(f"{PROG}: error: {' '.join(message.split())}\n")
    return EXIT_USAGE
