"""The client subcommands: tables (rich and plain), --json, exit codes, one-line errors."""

from __future__ import annotations

import json
import sys
from typing import Any

import grpc
import pytest
from ibkr_broker import cli as top_level
from ibkr_broker.client import cli
from ibkr_broker.client.connection import ClientConfig
from ibkr_broker.v1 import contract_pb2, order_pb2

from tests.unit.client_fake import (
    Failure,
    FakeServer,
    free_port_target,
    quote,
    quote_batch,
)

pytestmark = pytest.mark.timeout(20)
C = grpc.StatusCode


@pytest.fixture(autouse=True)
def _fast_and_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ClientConfig, "backoff_delay", lambda self, attempt: 0.0)
    for name in ("TARGET", "TOKEN", "CA_CERT", "CLIENT_CERT", "CLIENT_KEY", "TIMEOUT"):
        monkeypatch.delenv(f"IBKR_BROKER_{name}", raising=False)


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def run(server: FakeServer, capsys: pytest.CaptureFixture[str]) -> Any:
    def invoke(*args: str, target: str | None = None) -> Run:
        code = cli.main([*args, "--target", target or server.target])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return invoke


def assert_one_line_error(result: Run, code: int, *fragments: str) -> None:
    assert result.code == code, (result.out, result.err)
    assert result.err.count("\n") == 1 and result.err.endswith("\n"), result.err
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in result.err, result.err


@pytest.mark.parametrize("style", ["--plain", "--rich"])
def test_status(run: Any, style: str) -> None:
    result = run("status", *([style] if style == "--plain" else []))
    assert result.code == 0 and result.err == ""
    for text in ("connection_state", "ready", "DU1234567", "127.0.0.1:7497", "paper_trading"):
        assert text in result.out
    assert ("┃" in result.out) is (style == "--rich")
    data = run("status", "--json").json()
    assert data["connection_state"] == "ready" and data["accounts"] == ["DU1234567"]
    assert data["paper_trading"] is True


def test_status_shows_each_gateway_behind_an_edge(run: Any, server: FakeServer) -> None:
    from ibkr_broker.v1 import broker_service_pb2 as bs
    from ibkr_broker.v1 import common_pb2

    server.broker.status.gateways.extend([
        bs.GatewayStatus(accounts=["DU1"], connection_state=common_pb2.CONNECTION_STATE_READY,
                         tws_host="10.0.0.1", tws_port=7497, server_version=178),
        bs.GatewayStatus(accounts=["DU2"],
                         connection_state=common_pb2.CONNECTION_STATE_DISCONNECTED,
                         trading_disabled_reason="its gateway did not answer"),
    ])  # fmt: skip
    text = run("status", "--plain").out
    assert "DU1 ready (TWS 10.0.0.1:7497, server version 178)" in text
    assert "DU2 disconnected" in text and "its gateway did not answer" in text
    data = run("status", "--json").json()
    assert [g["accounts"] for g in data["gateways"]] == [["DU1"], ["DU2"]]
    assert data["gateways"][1]["connection_state"] == "disconnected"


def test_contract(run: Any, server: FakeServer) -> None:
    table = run("contract", "aapl", "--plain")
    assert table.code == 0 and "265598" in table.out and "APPLE INC" in table.out
    assert "1 match(es)" in table.out
    [match] = run("contract", "AAPL", "--json").json()
    assert match["con_id"] == 265598 and match["min_tick"] == "0.01"
    run("contract", "AAPL", "--sec-type", "OPT", "--expiry", "20260116", "--right", "C", "--json")
    sent = server.broker.calls_of("ResolveContract")[-1].request.contract
    assert (sent.security_type, sent.last_trade_date, sent.right) == (
        contract_pb2.SECURITY_TYPE_OPTION, "20260116", contract_pb2.OPTION_RIGHT_CALL,
    )  # fmt: skip
    missing = run("contract", "NOPE")
    assert_one_line_error(missing, 1, "ibkr-broker contract: error: CONTRACT_NOT_FOUND (IB 200)")


def test_chain(run: Any) -> None:
    table = run("chain", "AAPL", "--plain")
    assert table.code == 0
    assert "SMART" in table.out and "CBOE" in table.out
    assert "expiries (2): 20260116 20260220" in table.out  # every expiry and strike, listed
    assert "strikes (3): 180 190 200" in table.out and "strikes (2): 185 190" in table.out
    data = run("chain", "AAPL", "--json").json()
    assert data["strikes"] == ["180", "185", "190", "200"]


def test_account_and_positions(run: Any) -> None:
    table = run("account", "--plain")
    assert table.code == 0 and "DU1234567" in table.out and "950000.50" in table.out
    [account] = run("account", "--json").json()
    assert account["cash"] == "950000.50" and account["buying_power"] == "4000000"
    positions = run("positions")
    assert positions.code == 0 and "AAPL" in positions.out and "5.123" in positions.out
    data = run("positions", "--json").json()
    assert [p["quantity"] for p in data] == ["10", "-2"]


def test_orders(run: Any, server: FakeServer) -> None:
    filled = run("buy", "AAPL", "1", "--json").json()
    working = run("buy", "AAPL", "2", "--limit", "190", "--json").json()
    all_orders = run("orders", "--plain")
    assert all_orders.code == 0 and filled["order_id"] in all_orders.out
    assert working["order_id"] in all_orders.out and "all orders" in all_orders.out
    open_orders = run("orders", "--open", "--json").json()
    assert [o["order_id"] for o in open_orders] == [working["order_id"]]
    assert server.broker.calls_of("ListOrders")[-1].request.filter == order_pb2.ORDER_FILTER_OPEN
    done = run("orders", "--completed", "--json").json()
    assert [o["order_id"] for o in done] == [filled["order_id"]]
    both = run("orders", "--open", "--completed")
    assert_one_line_error(both, 2, "not allowed with argument")


def test_buy_and_sell(run: Any, server: FakeServer) -> None:
    market = run("buy", "AAPL", "10", "--plain")
    assert market.code == 0 and "order placed" in market.out and "filled" in market.out
    limit = run("sell", "AAPL", "5", "--limit", "191.5", "--tif", "gtc", "--json").json()
    assert (limit["side"], limit["type"], limit["limit_price"], limit["tif"]) == (
        "sell", "limit", "191.5", "gtc",
    )  # fmt: skip
    stop = run("sell", "AAPL", "5", "--stop", "180", "--json").json()
    assert stop["type"] == "stop" and stop["stop_price"] == "180"
    stop_limit = run("sell", "AAPL", "5", "--stop", "180", "--limit", "179", "--json").json()
    assert stop_limit["type"] == "stop_limit"
    trail = run("sell", "AAPL", "5", "--trail-percent", "2", "--json").json()
    assert trail["type"] == "trailing_stop"
    opt = run("buy", "AAPL", "1", "--option", "--expiry", "20260116", "--strike", "190",
              "--right", "C", "--limit", "4.5", "--json").json()  # fmt: skip
    assert opt["sec_type"] == "OPT" and opt["contract"]["strike"] == "190"
    bracketed = run("buy", "AAPL", "1", "--limit", "190", "--take-profit", "200", "--plain")
    assert bracketed.code == 0 and "bracket child" in bracketed.out
    preview = run("buy", "AAPL", "1", "--what-if")
    assert preview.code == 0 and "what-if" in preview.out and "1900.5" in preview.out
    keyed = run("buy", "AAPL", "1", "--request-id", "cli-key-1", "--json").json()
    again = run("buy", "AAPL", "1", "--request-id", "cli-key-1", "--json").json()
    assert keyed["order_id"] == again["order_id"]
    sent = [c.request for c in server.broker.calls_of("PlaceOrder")]
    assert sent[0].order.order_type == order_pb2.ORDER_TYPE_MARKET


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["buy", "AAPL", "0"], "quantity must be positive"),
        (["buy", "AAPL", "ten"], "quantity must be a number"),
        (["sell", "AAPL", "1", "--limit", "abc"], "limit_price must be a number"),
        (["buy", "AAPL", "1", "--tif", "week"], "tif must be one of"),
        (["buy", "AAPL", "1", "--strike", "190"], "need --option"),
        (["buy", "AAPL", "1", "--option", "--expiry", "20260116", "--right", "C"], "strike is"),
        (["buy", "AAPL"], "the following arguments are required: quantity"),
        (["buy", "AAPL", "1", "--bogus"], "unrecognized arguments: --bogus"),
        (["frobnicate"], "invalid choice"),
        (["quotes", "AAPL", "--count", "0"], "--count must be positive"),
        (["status", "--timeout", "soon"], "invalid float value"),
    ],
)
def test_usage_errors_exit_2_with_one_line_and_send_nothing(
    run: Any, server: FakeServer, args: list[str], fragment: str
) -> None:
    assert_one_line_error(run(*args), 2, fragment)
    assert server.broker.calls_of("PlaceOrder") == []


def test_no_arguments_at_all(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["buy", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--limit" in out and "--what-if" in out and "--target" in out


def test_broker_errors_exit_1_with_one_line(run: Any, server: FakeServer) -> None:
    server.broker.fail(
        "PlaceOrder",
        Failure(C.FAILED_PRECONDITION, "Order rejected -\nreason: no permissions", "ORDER_REJECTED",
                ib_code=201),
    )  # fmt: skip
    assert_one_line_error(
        run("buy", "AAPL", "1"),
        1,
        "ibkr-broker buy: error: ORDER_REJECTED (IB 201): Order rejected - reason: no permissions",
    )
    assert_one_line_error(run("cancel", "ord-404"), 1, "ORDER_NOT_FOUND")
    server.broker.fail("GetStatus", Failure(C.UNAUTHENTICATED, "missing token"))
    assert_one_line_error(run("status"), 1, "UNAUTHENTICATED: missing token")


def test_server_down_is_one_line(run: Any) -> None:
    result = run("status", "--timeout", "2", target=free_port_target())
    assert_one_line_error(result, 1, "ibkr-broker status: error: UNAVAILABLE")


def test_live_server_needs_live_flag(run: Any, server: FakeServer) -> None:
    server.broker.status.paper_trading = False
    assert_one_line_error(run("buy", "AAPL", "1"), 1, "TRADING_MODE_MISMATCH", "LIVE")
    assert server.broker.calls_of("PlaceOrder") == []
    assert run("buy", "AAPL", "1", "--live").code == 0


def test_cancel(run: Any) -> None:
    placed = run("buy", "AAPL", "1", "--limit", "100", "--json").json()
    table = run("cancel", placed["order_id"], "--plain")
    assert table.code == 0 and f"order {placed['order_id']} cancelled" in table.out
    data = run("cancel", placed["order_id"], "--json").json()
    assert data["status"] == "cancelled"


def test_token_and_timeout_options(run: Any, server: FakeServer) -> None:
    assert run("status", "--token", "abc", "--timeout", "3").code == 0
    assert server.broker.calls[-1].metadata["authorization"] == "Bearer abc"


# --- quotes ---------------------------------------------------------------------------------


def script_quotes(server: FakeServer) -> None:
    server.broker.quote_messages = [
        quote_batch(1, quote("AAPL", "189.99", "190.01", "190"), quote("MSFT", "3", "4", "3.5")),
        quote_batch(2, quote("AAPL", "190.00", "190.02", "190.01")),
        quote_batch(3, quote("AAPL", "190.01", "190.03", "190.02")),
    ]
    server.broker.hold_streams_open = True


def test_quotes_json_lines_stop_after_count(run: Any, server: FakeServer) -> None:
    script_quotes(server)
    result = run("quotes", "AAPL", "MSFT", "--count", "3", "--json")
    assert result.code == 0 and result.err == ""
    lines = [json.loads(line) for line in result.out.splitlines()]
    assert [(q["type"], q["symbol"], q["bid"]) for q in lines] == [
        ("quote", "AAPL", "189.99"), ("quote", "MSFT", "3"), ("quote", "AAPL", "190.00"),
    ]  # fmt: skip


def test_quotes_plain_lines(run: Any, server: FakeServer) -> None:
    script_quotes(server)
    result = run("quotes", "AAPL", "MSFT", "--count", "2", "--plain")
    assert result.code == 0
    first, second = result.out.splitlines()
    assert first.startswith("AAPL") and "bid=189.99" in first and "ask=190.01" in first
    assert second.startswith("MSFT")


def test_quotes_live_table_stops_after_seconds(run: Any, server: FakeServer) -> None:
    script_quotes(server)
    result = run("quotes", "AAPL", "MSFT", "IBM", "--seconds", "0.3")
    assert result.code == 0, result.err
    # Not a terminal: rich.live prints the final table once.
    assert "190.01" in result.out and "190.03" in result.out and "IBM" in result.out
    assert "3.5" in result.out


def test_quotes_without_rich_falls_back_to_plain(
    run: Any, server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    script_quotes(server)
    result = run("quotes", "AAPL", "--count", "1")
    assert result.code == 0 and result.out.startswith("AAPL") and "┃" not in result.out
    table = run("status")
    assert table.code == 0 and "connection_state" in table.out and "┃" not in table.out


def test_quotes_stream_error_is_one_line(run: Any, server: FakeServer) -> None:
    server.broker.fail(
        "StreamQuotes", Failure(C.NOT_FOUND, "no such contract", "CONTRACT_NOT_FOUND")
    )
    assert_one_line_error(run("quotes", "ZZZZ", "--count", "1"), 1, "CONTRACT_NOT_FOUND")


def test_top_level_dispatcher_runs_client_commands(
    server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert top_level.main(["status", "--target", server.target, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["connection_state"] == "ready"
