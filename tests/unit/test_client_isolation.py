"""The client works where ibapi (and grpcio-status, and rich) cannot be imported at all."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import grpc
import pytest

from tests.unit.client_fake import Failure, FakeServer

pytestmark = pytest.mark.timeout(60)

# Runs first in the child: every import of these names (or below them) fails.
BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys

    BLOCKED = ("ibapi", "ib_async", "grpc_status", "google.rpc", "rich",
               "ibkr_broker.server", "ibkr_broker.simulator")

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if any(name == b or name.startswith(b + ".") for b in BLOCKED):
                raise ModuleNotFoundError(f"blocked for this test: {name}", name=name)
            return None

    sys.meta_path.insert(0, Block())
    try:
        import ibapi  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("ibapi should not be importable here")
    """
)


def run_child(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=50,
    )


def test_adapter_places_an_order_without_ibapi(server: FakeServer) -> None:
    server.broker.fail(
        "GetOrder", Failure(grpc.StatusCode.NOT_FOUND, "no order x", "ORDER_NOT_FOUND", ib_code=1)
    )
    child = run_child(
        f"""
        import json, sys
        from ibkr_broker.client import IBKRAdapter, OrderNotFoundError
        adapter = IBKRAdapter({{"target": "{server.target}", "timeout": 5}})
        assert adapter.auth()
        order = adapter.buy_stock_limit("AAPL", 5, "190.25")
        try:
            adapter.get_order("x")
        except OrderNotFoundError as exc:
            reason, ib_code = exc.reason, exc.ib_code
        loaded = sorted(m for m in sys.modules
                        if m.split(".")[0] in ("ibapi", "rich", "grpc_status")
                        or m.startswith(("google.rpc", "ibkr_broker.server")))
        print(json.dumps({{"order_id": order["order_id"], "status": order["status"],
                          "limit": str(order["limit_price"]), "reason": reason,
                          "ib_code": ib_code, "loaded": loaded}}))
        """
    )
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout)
    assert result["status"] == "submitted" and result["limit"] == "190.25"
    # The error detail was decoded with protobuf alone (google.rpc was not importable).
    assert (result["reason"], result["ib_code"]) == ("ORDER_NOT_FOUND", 1)
    assert result["loaded"] == []
    [placed] = server.broker.calls_of("PlaceOrder")
    assert placed.request.order.limit_price == "190.25"
    assert server.broker.placed == 1


def test_cli_runs_without_ibapi_or_rich(server: FakeServer) -> None:
    child = run_child(
        f"""
        import sys
        from ibkr_broker.cli import main
        code = main(["buy", "AAPL", "2", "--target", "{server.target}"])
        assert "rich" not in sys.modules
        raise SystemExit(code)
        """
    )
    assert child.returncode == 0, child.stderr
    assert "order placed" in child.stdout and "filled" in child.stdout
    assert "┃" not in child.stdout  # plain text, rich was not importable
    assert server.broker.placed == 1


def test_importing_the_client_loads_neither_rich_nor_ibapi() -> None:
    child = subprocess.run(
        [sys.executable, "-c",
         "import sys, ibkr_broker.client, ibkr_broker.client.cli\n"
         "bad = [m for m in sys.modules if m.split('.')[0] in ('rich', 'ibapi', 'grpc_status')]\n"
         "print(bad)"],
        capture_output=True, text=True, timeout=50,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "[]"
