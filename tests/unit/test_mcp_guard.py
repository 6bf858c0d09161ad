"""The MCP server's pieces without a server: confirmation tokens, refusals as one clear line,
the --listen rules, tool arguments to requests, and the lazy import of the SDK."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import grpc
import pytest
from ibkr_broker.client.errors import (
    PermissionDeniedError,
    RiskLimitError,
    TradingHaltedError,
    UnavailableError,
)
from ibkr_broker.client.mcp_server import cli
from ibkr_broker.client.mcp_server.guard import Confirmations, ToolRefusal, refusal_text
from ibkr_broker.client.mcp_server.inputs import ContractArgs, ModifyArgs, OrderArgs, compact
from ibkr_broker.v1 import order_pb2


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_confirmation_is_for_these_arguments_until_it_expires() -> None:
    clock = Clock()
    confirmations = Confirmations(ttl=30, clock=clock)
    token = confirmations.issue("place_order", "args-1", "rid-1")
    assert confirmations.redeem(token, "place_order", "args-1") == "rid-1"
    clock.now += 29
    assert confirmations.redeem(token, "place_order", "args-1") == "rid-1"  # a retry
    with pytest.raises(ToolRefusal, match="other arguments"):
        confirmations.redeem(token, "place_order", "args-2")
    with pytest.raises(ToolRefusal, match="other arguments"):
        confirmations.redeem(token, "modify_order", "args-1")
    clock.now += 1
    with pytest.raises(ToolRefusal, match="unknown or expired"):
        confirmations.redeem(token, "place_order", "args-1")
    with pytest.raises(ValueError, match="ttl"):
        Confirmations(ttl=0)


def test_pending_confirmations_are_bounded() -> None:
    confirmations = Confirmations(ttl=30, clock=Clock())
    first = confirmations.issue("place_order", "a", "r0")
    for n in range(300):
        confirmations.issue("place_order", f"a{n}", f"r{n}")
    with pytest.raises(ToolRefusal):
        confirmations.redeem(first, "place_order", "a")


def test_refusals_name_the_limit_the_halt_or_the_permission() -> None:
    risk = RiskLimitError(
        "order quantity 101 exceeds 100",
        code=grpc.StatusCode.FAILED_PRECONDITION,
        reason="RISK_MAX_ORDER_QUANTITY",
        metadata={"setting": "risk.max_order_quantity", "limit": "100", "attempted": "101"},
    )
    assert refusal_text(risk) == (
        "refused by risk limit RISK_MAX_ORDER_QUANTITY: order quantity 101 exceeds 100 "
        "[setting risk.max_order_quantity, limit 100, attempted 101]"
    )
    halted = TradingHaltedError("trading halted: eod", reason="TRADING_HALTED")
    assert refusal_text(halted).startswith("refused: trading is halted")
    denied = PermissionDeniedError(
        "role trade may not call HaltTrading", reason="PERMISSION_DENIED"
    )
    assert "permission denied (PERMISSION_DENIED)" in refusal_text(denied)
    down = UnavailableError("no TWS", code=grpc.StatusCode.UNAVAILABLE, request_id="rid-7")
    assert refusal_text(down).endswith("retry with request_id rid-7 so it cannot run twice")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("8765", ("127.0.0.1", 8765)), ("localhost:0", ("localhost", 0)),
     ("[::1]:9000", ("::1", 9000)), ("127.0.0.2:1", ("127.0.0.2", 1))],
)  # fmt: skip
def test_listen_is_loopback_by_default(value: str, expected: tuple[str, int]) -> None:
    assert cli.parse_listen(value) == expected


def test_listen_elsewhere_needs_allow_remote() -> None:
    with pytest.raises(cli.UsageError, match="not a loopback address"):
        cli.parse_listen("0.0.0.0:8765")
    assert cli.parse_listen("0.0.0.0:8765", allow_remote=True) == ("0.0.0.0", 8765)
    for bad in ("host:port", "127.0.0.1:70000"):
        with pytest.raises(cli.UsageError, match="--listen: port"):
            cli.parse_listen(bad)


def test_bad_usage_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--listen", "10.1.2.3:80"]) == 2
    assert cli.main(["--confirm-ttl", "0"]) == 2
    assert cli.main(["--bogus"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all(line.startswith("ibkr-broker mcp: error: ") for line in err)


def test_order_arguments_become_a_validated_request() -> None:
    args = OrderArgs(ContractArgs("aapl"), "buy", Decimal("2"), "limit", Decimal("190.25"))
    contract, spec, bracket = args.to_request()
    assert contract.symbol == "AAPL" and spec.limit_price == "190.25" and bracket is None
    assert args.fingerprint() != OrderArgs(ContractArgs("AAPL"), "buy", Decimal("3")).fingerprint()
    with pytest.raises(ValueError, match="stop_price is required"):
        OrderArgs(ContractArgs("AAPL"), "sell", Decimal("1"), "stop").to_request()
    option = ContractArgs("AAPL", "OPT", expiry="20261218", strike=Decimal("200"), right="C")
    assert option.to_proto().strike == "200"


def test_modify_arguments() -> None:
    with pytest.raises(ValueError, match="at least one change"):
        ModifyArgs("o1").changes()
    current = order_pb2.OrderSpec(quantity="2", limit_price="100")
    spec = ModifyArgs("o1", quantity=Decimal("5"), tif="gtc").modified_spec(current)
    assert spec.quantity == "5" and spec.limit_price == "100"
    assert spec.time_in_force == order_pb2.TIME_IN_FORCE_GTC


def test_compact_drops_empty_values_and_keeps_decimals_exact() -> None:
    value = {"a": None, "b": "", "c": [], "d": Decimal("1.10"), "e": False, "f": [{"g": None}]}
    assert compact(value) == {"d": "1.10", "e": False, "f": [{}]}


def test_the_client_and_the_mcp_command_line_load_no_sdk_until_run() -> None:
    child = subprocess.run(
        [sys.executable, "-c",
         "import sys, ibkr_broker.client, ibkr_broker.cli, ibkr_broker.client.mcp_server.cli\n"
         "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mcp', 'pydantic')))"],
        capture_output=True, text=True, timeout=50,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "[]"


def test_without_the_sdk_the_command_says_what_to_install() -> None:
    blocker = (
        "import importlib.abc, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'mcp' or name.startswith('mcp.'):\n"
        "            raise ModuleNotFoundError('blocked', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from ibkr_broker.cli import main\n"
        "raise SystemExit(main(['mcp', '--server', '127.0.0.1:1']))\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", blocker], capture_output=True, text=True, timeout=50
    )
    assert child.returncode == 2
    assert "pip install 'ibkr-broker[mcp]'" in child.stderr
