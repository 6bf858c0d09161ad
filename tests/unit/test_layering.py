"""The layering of the house (docs/architecture.md), read from the imports of every module.

- server/: imports only go down: domain <- session <- ib / trading <- api <- bus <- app. A layer
  imports its own package and the layers below it; ib and trading, side by side, never import
  each other. domain imports nothing of the project, nor grpc or ibapi. grpc stays in api, bus
  and app.
- Only server/ib imports ibapi; only server/bus imports nats (the session and the trader expose
  events and callbacks that the bus subscribes to).
- client/ imports neither the server nor ibapi.
- simulator/ never imports the server; of ibapi it imports only the protobuf schema modules
  (`ibapi.protobuf`), the rest of ibapi only in tests.

Imports anywhere in a module count (also inside functions and under TYPE_CHECKING).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]
PACKAGES = {"server": "ibkr_broker.server", "client": "ibkr_broker.client",
            "simulator": "ibkr_broker.simulator"}  # fmt: skip
SERVER = PACKAGES["server"]

# The rank of each server layer; a module imports its own layer's package or lower ranks.
RANKS = {"domain": 0, "session": 1, "ib": 2, "trading": 2, "api": 3, "bus": 4}
APP = 5  # app.py, edge_app.py, cli.py, config.py and every other module at the top of server/
# Modules at the top of server/ that a lower layer may use: the audit log (written by api).
SUPPORT = {"audit": 2}


def source_modules(root: Path = REPO) -> dict[str, tuple[str, bool]]:
    """Every module of the packages: dotted name -> (source, is a package's __init__)."""
    found = {}
    for folder, package in PACKAGES.items():
        for path in sorted((root / folder).rglob("*.py")):
            if path.name.endswith(("_pb2.py", "_pb2_grpc.py")):
                continue
            parts = path.relative_to(root / folder).with_suffix("").parts
            is_init = parts[-1] == "__init__"
            name = ".".join((package, *(parts[:-1] if is_init else parts)))
            found[name] = (path.read_text(encoding="utf-8"), is_init)
    return found


def imported(name: str, source: str, is_init: bool) -> Iterator[tuple[str, int]]:
    """(absolute module name, line) of every import in a module's source."""
    package = name.split(".") if is_init else name.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            # `from . import x` imports module x when there is one: judge x, not the package.
            for alias in node.names:
                yield f"{target}.{alias.name}", node.lineno


def _server_part(module: str) -> str:
    """The layer of a server module: its subpackage, or the name of a top-level module."""
    return module[len(SERVER) + 1 :].split(".")[0]


def _rank(part: str) -> int:
    return RANKS.get(part, SUPPORT.get(part, APP))


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def rule_broken(source: str, target: str) -> str:
    """Why `source` (a project module) may not import `target`; empty when it may."""
    if _within(source, SERVER):
        part = _server_part(source)
        if _within(target, "ibapi") and part != "ib":
            return "only server/ib imports ibapi"
        if _within(target, "nats") and part != "bus":
            return "only server/bus imports nats"
        if part == "domain" and (
            _within(target, "ibkr_broker") and not _within(target, f"{SERVER}.domain")
        ):
            return "server/domain imports nothing of the project"
        if _within(target, "grpc") and _rank(part) < RANKS["api"]:
            return "grpc stays in server/api and the app"
        if _within(target, SERVER) and target != SERVER:
            to = _server_part(target)
            if to != part and _rank(to) >= _rank(part) and not _rank(to) == _rank(part) == APP:
                return f"imports only go down: {part} (rank {_rank(part)}) may not import {to}"
    elif _within(source, PACKAGES["client"]):
        if _within(target, SERVER) or _within(target, "ibapi"):
            return "client/ imports neither the server nor ibapi"
    elif _within(source, PACKAGES["simulator"]):
        if _within(target, SERVER):
            return "simulator/ never imports the server"
        if _within(target, "ibapi") and not _within(target, "ibapi.protobuf"):
            return "simulator/ imports only ibapi.protobuf (the rest of ibapi only in tests)"
    return ""


def violations(modules: Mapping[str, tuple[str, bool]]) -> list[str]:
    found = []
    for name, (source, is_init) in sorted(modules.items()):
        for target, line in imported(name, source, is_init):
            why = rule_broken(name, target)
            if why:
                found.append(f"{name}:{line} imports {target}: {why}")
    return found


def test_every_import_goes_down_the_layers() -> None:
    modules = source_modules()
    # The walk really sees the house (an empty tree would pass vacuously).
    for expected in (
        f"{SERVER}.domain.model",
        f"{SERVER}.session.broker_session",
        f"{SERVER}.ib.gateway",
        f"{SERVER}.trading.trader",
        f"{SERVER}.api.servicer",
        f"{SERVER}.app",
        f"{SERVER}.bus.gateway",
        f"{SERVER}.edge_app",
        "ibkr_broker.client",
        "ibkr_broker.simulator",
    ):
        assert expected in modules
    assert violations(modules) == []


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        (f"{SERVER}.session.pacing", "from ..api import errors\n", "imports only go down"),
        (f"{SERVER}.session.pacing", "from ..trading.trader import Trader\n", "go down"),
        (f"{SERVER}.trading.trader", "from ..ib import gateway\n", "go down"),
        (f"{SERVER}.ib.gateway", "from ..trading import killswitch\n", "go down"),
        (f"{SERVER}.api.auth", "from ..config import RiskLimits\n", "go down"),
        (f"{SERVER}.api.auth", "from .. import app\n", "go down"),
        (f"{SERVER}.api.servicer", "from ..bus import edge\n", "go down"),
        (f"{SERVER}.bus.edge", "from ..edge_app import EdgeApp\n", "go down"),
        (f"{SERVER}.session.journal", "import nats\n", "only server/bus imports nats"),
        (f"{SERVER}.trading.trader", "from nats.js import api\n", "only server/bus"),
        (f"{SERVER}.domain.model", "from ibkr_broker.v1 import order_pb2\n", "nothing of"),
        (f"{SERVER}.domain.model", "import grpc\n", "grpc stays"),
        (f"{SERVER}.session.store", "def f():\n    import ibapi.order\n", "only server/ib"),
        ("ibkr_broker.client.aio", "from ibkr_broker.server.domain import errors\n", "client/"),
        ("ibkr_broker.client.aio", "from ibapi.order import Order\n", "client/"),
        ("ibkr_broker.simulator.server", "from ibkr_broker.server import config\n", "never"),
        ("ibkr_broker.simulator.server", "from ibapi.client import EClient\n", "only ibapi"),
    ],
)
def test_an_import_against_the_layers_is_reported(module: str, source: str, broken: str) -> None:
    (found,) = violations({module: (source, False)})
    assert broken in found and module in found


@pytest.mark.parametrize(
    ("module", "source"),
    [
        (f"{SERVER}.api.servicer", "from ..trading.trader import Trader\n"),
        (f"{SERVER}.api.auth", "from ..audit import AuditLog\n"),
        (f"{SERVER}.ib.gateway", "from ..session.ib_port import IbPort\nimport ibapi.client\n"),
        (f"{SERVER}.trading.trader", "from ..session import broker_session\n"),
        (f"{SERVER}.app", "from .ib.gateway import IbGateway\nfrom .config import Config\n"),
        (f"{SERVER}.bus.gateway", "import nats\nfrom ..api.servicer import BrokerServicer\n"),
        (f"{SERVER}.edge_app", "from .bus.edge import EdgeServicer\nfrom . import app\n"),
        (f"{SERVER}.domain.errors", "from . import model\nfrom collections.abc import Mapping\n"),
        ("ibkr_broker.simulator.codec", "from ibapi.protobuf import PlaceOrderRequest_pb2\n"),
        ("ibkr_broker.client.aio", "from ibkr_broker.v1 import broker_service_pb2\n"),
    ],
)
def test_imports_down_the_layers_pass(module: str, source: str) -> None:
    assert violations({module: (source, False)}) == []
