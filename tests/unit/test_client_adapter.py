"""IBKRAdapter: dict validation before any RPC, result shapes, helpers, safety checks."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import grpc
import pytest
from ibkr_broker.client import (
    BrokerAdapter,
    BrokerClient,
    ContractNotFoundError,
    IBKRAdapter,
    OrderRejectedError,
    PermissionDeniedError,
)
from ibkr_broker.v1 import common_pb2, contract_pb2, order_pb2

from tests.unit.client_fake import (
    Failure,
    FakeServer,
    free_port_target,
    order_event,
    quote,
    quote_batch,
)

pytestmark = pytest.mark.timeout(20)
C = grpc.StatusCode


@pytest.fixture
def adapter(server: FakeServer) -> Iterator[IBKRAdapter]:
    with IBKRAdapter({"timeout": 5}, client=BrokerClient(config=server.config())) as a:
        yield a


BASE = {"symbol": "AAPL", "quantity": 10, "side": "buy"}
OPTION = {**BASE, "secType": "OPT", "lastTradeDate": "20260116", "strike": 190, "right": "C"}


@pytest.mark.parametrize(
    ("order", "key"),
    [
        ({"quantity": 1, "side": "buy"}, "symbol"),
        ({**BASE, "symbol": ""}, "symbol"),
        ({**BASE, "symbol": 5}, "symbol"),
        ({"symbol": "AAPL", "quantity": 1}, "side"),
        ({**BASE, "side": "hold"}, "side"),
        ({"symbol": "AAPL", "side": "buy"}, "quantity"),
        ({**BASE, "quantity": 0}, "quantity"),
        ({**BASE, "quantity": -5}, "quantity"),
        ({**BASE, "quantity": float("nan")}, "quantity"),
        ({**BASE, "quantity": float("inf")}, "quantity"),
        ({**BASE, "quantity": "ten"}, "quantity"),
        ({**BASE, "quantity": True}, "quantity"),
        ({**BASE, "quantity": None}, "quantity"),
        ({**BASE, "type": "limit"}, "limit_price"),
        ({**BASE, "type": "limit", "limit_price": "abc"}, "limit_price"),
        ({**BASE, "type": "limit", "limit_price": 0}, "limit_price"),
        ({**BASE, "limit_price": 100}, "limit_price"),
        ({**BASE, "type": "stop"}, "stop_price"),
        ({**BASE, "type": "stop_limit", "stop_price": 1}, "limit_price"),
        ({**BASE, "type": "stop_limit", "limit_price": 1}, "stop_price"),
        ({**BASE, "type": "trailing_stop"}, "trailing_amount"),
        ({**BASE, "type": "iceberg"}, "type"),
        ({**BASE, "tif": "week"}, "tif"),
        ({**BASE, "secType": "XYZ"}, "secType"),
        ({**BASE, "secType": "BAG"}, "secType"),
        ({**BASE, "secType": "IND"}, "secType"),
        ({k: v for k, v in OPTION.items() if k != "strike"}, "strike"),
        ({k: v for k, v in OPTION.items() if k != "right"}, "right"),
        ({k: v for k, v in OPTION.items() if k != "lastTradeDate"}, "lastTradeDate"),
        ({**OPTION, "right": "X"}, "right"),
        ({**OPTION, "strike": -1}, "strike"),
        ({**OPTION, "lastTradeDate": "Jan 16"}, "lastTradeDate"),
        ({**BASE, "strike": 190}, "strike"),
        ({**BASE, "expiry": "20260116"}, "expiry"),
        ({**BASE, "secType": "FUT"}, "lastTradeDate"),
        ({**BASE, "limt_price": 1}, "limt_price"),
        ({**BASE, "qty": 2}, "qty and quantity"),
        ({**BASE, "what_if": "yes"}, "what_if"),
        ({**BASE, "request_id": ""}, "request_id"),
        ({**BASE, "con_id": "265598"}, "con_id"),
        ({**BASE, "take_profit": -1}, "take_profit"),
        ({**BASE, "outside_rth": 1}, "outside_rth"),
        ({**BASE, "account": 7}, "account"),
    ],
)
def test_bad_order_dicts_raise_value_error_naming_the_key_before_any_rpc(
    server: FakeServer, adapter: IBKRAdapter, order: dict[str, Any], key: str
) -> None:
    with pytest.raises(ValueError) as caught:
        adapter.place_order(order)
    assert str(caught.value).startswith(key), caught.value
    assert server.broker.calls == []


def test_not_a_dict_is_refused(server: FakeServer, adapter: IBKRAdapter) -> None:
    with pytest.raises(ValueError, match="order must be a dict"):
        adapter.place_order(["AAPL", 1])  # type: ignore[arg-type]
    assert server.broker.calls == []


@pytest.mark.parametrize(
    "call",
    [
        lambda a: a.buy_stock_market("", 1),
        lambda a: a.sell_stock_market("AAPL", 0),
        lambda a: a.buy_stock_limit("AAPL", 1, None),
        lambda a: a.sell_stock_limit("AAPL", 1, float("nan")),
        lambda a: a.buy_option_market("AAPL", "20260116", 190, "X", 1),
        lambda a: a.sell_option_market("AAPL", "", 190, "C", 1),
        lambda a: a.buy_option_limit("AAPL", "20260116", None, "C", 1, 2),
        lambda a: a.sell_option_limit("AAPL", "20260116", 190, "P", -1, 2),
        lambda a: a.create_combo_contract("SPY", [(1, 1, "buy", "SMART")]),
        lambda a: a.place_multi_leg_order({"symbol": "SPY"}, "buy", 1),
        lambda a: a.place_multi_leg_order(
            a.create_combo_contract("SPY", [(1, 1, "buy", "SMART"), (2, 1, "sell", "SMART")]),
            "hold",
            1,
        ),
        lambda a: a.list_orders("finished"),
        lambda a: a.get_order(""),
        lambda a: a.resolve_contract("AAPL", "OPT", strike="x"),
        lambda a: a.modify_order("ord-1", colour="red"),
        lambda a: a.stream_quotes([]),
        lambda a: a.buy_stock_market("AAPL", 1, side="sell"),
        lambda a: a.sell_option_limit("AAPL", "20260116", 190, "P", 1, 2, type="market"),
    ],
)
def test_helpers_validate_before_any_rpc(
    server: FakeServer, adapter: IBKRAdapter, call: Any
) -> None:
    with pytest.raises(ValueError):
        call(adapter)
    assert server.broker.calls == []


def test_place_order_result_shape(server: FakeServer, adapter: IBKRAdapter) -> None:
    result = adapter.place_order({**BASE, "type": "limit", "limit_price": 190.5, "tif": "GTC"})
    expected = {"order_id", "status", "filled_quantity", "avg_fill_price", "request_id", "symbol",
                "side", "quantity", "type", "limit_price", "tif", "executions"}  # fmt: skip
    assert expected <= set(result)
    assert result["status"] == "submitted"
    assert result["filled_quantity"] == Decimal(0) and result["avg_fill_price"] is None
    assert (result["limit_price"], result["tif"], result["type"]) == (
        Decimal("190.5"),
        "gtc",
        "limit",
    )
    sent = server.broker.calls_of("PlaceOrder")[0].request
    assert sent.order.limit_price == "190.5"
    assert result["request_id"] == sent.request_id
    # The first order checks the server's paper/live mode once.
    assert [c.method for c in server.broker.calls] == ["GetStatus", "PlaceOrder"]


def test_market_helpers_and_fills(server: FakeServer, adapter: IBKRAdapter) -> None:
    filled = adapter.buy_stock_market("aapl", 3)
    assert filled["status"] == "filled" and filled["is_terminal"]
    assert filled["filled_quantity"] == Decimal(3) and filled["avg_fill_price"] == Decimal("100.25")
    assert filled["executions"][0]["commission"] == Decimal(1)
    adapter.sell_stock_market("AAPL", "2.5", tif="ioc")
    adapter.buy_stock_limit("AAPL", 1, "99.99")
    adapter.sell_stock_limit("AAPL", 1, Decimal("101"), request_id="mine-1")
    sent = [c.request for c in server.broker.calls_of("PlaceOrder")]
    assert [(r.order.action, r.order.order_type, r.order.quantity) for r in sent] == [
        (common_pb2.ORDER_ACTION_BUY, order_pb2.ORDER_TYPE_MARKET, "3"),
        (common_pb2.ORDER_ACTION_SELL, order_pb2.ORDER_TYPE_MARKET, "2.5"),
        (common_pb2.ORDER_ACTION_BUY, order_pb2.ORDER_TYPE_LIMIT, "1"),
        (common_pb2.ORDER_ACTION_SELL, order_pb2.ORDER_TYPE_LIMIT, "1"),
    ]
    assert sent[1].order.time_in_force == order_pb2.TIME_IN_FORCE_IOC
    assert sent[3].request_id == "mine-1"
    assert len(server.broker.calls_of("GetStatus")) == 1


def test_option_helpers(server: FakeServer, adapter: IBKRAdapter) -> None:
    adapter.buy_option_market("AAPL", "20260116", 190, "C", 1)
    adapter.sell_option_market("AAPL", "20260116", 190, "PUT", 2)
    adapter.buy_option_limit("AAPL", "20260116", "187.5", "call", 1, 4.2)
    adapter.sell_option_limit("AAPL", "20260116", 190, "P", 1, "3.10", tif="gtc")
    sent = [c.request for c in server.broker.calls_of("PlaceOrder")]
    contracts = [(r.contract.security_type, r.contract.strike, r.contract.right) for r in sent]
    call, put = contract_pb2.OPTION_RIGHT_CALL, contract_pb2.OPTION_RIGHT_PUT
    opt = contract_pb2.SECURITY_TYPE_OPTION
    assert contracts == [(opt, "190", call), (opt, "190", put), (opt, "187.5", call),
                         (opt, "190", put)]  # fmt: skip
    assert [r.order.limit_price for r in sent] == ["", "", "4.2", "3.10"]
    assert sent[3].order.time_in_force == order_pb2.TIME_IN_FORCE_GTC
    assert all(r.contract.last_trade_date == "20260116" for r in sent)
    # aliases: expiry for lastTradeDate
    adapter.place_order({**BASE, "secType": "OPT", "expiry": "20260116", "strike": 1, "right": "P"})


def test_what_if_and_bracket(server: FakeServer, adapter: IBKRAdapter) -> None:
    preview = adapter.place_order({**BASE, "what_if": True})
    assert preview["what_if"] and preview["status"] == "what_if"
    assert preview["preview"]["initial_margin_change"] == Decimal("1900.5")
    assert server.broker.calls_of("GetStatus") == []  # a preview trades nothing
    result = adapter.place_order(
        {**BASE, "type": "limit", "limit_price": 190, "take_profit": 200, "stop_loss": 180}
    )
    assert result["bracket_orders"][0]["parent_order_id"] == result["order_id"]


def test_paper_live_mismatch_refuses_to_trade(server: FakeServer) -> None:
    server.broker.status.paper_trading = False
    with IBKRAdapter({}, client=BrokerClient(config=server.config())) as paper:
        with pytest.raises(PermissionDeniedError, match="LIVE"):
            paper.buy_stock_market("AAPL", 1)
        with pytest.raises(PermissionDeniedError):
            paper.place_multi_leg_order(
                paper.create_combo_contract("SPY", [(1, 1, "buy", "SMART"), (2, 1, "sell", "")]),
                "buy", 1, 0.5)  # fmt: skip
    assert server.broker.calls_of("PlaceOrder") == []
    with IBKRAdapter({"paper_trading": False}, client=BrokerClient(config=server.config())) as live:
        assert live.buy_stock_market("AAPL", 1)["status"] == "filled"
    server.broker.status.paper_trading = True
    live = IBKRAdapter({"paper_trading": False}, client=BrokerClient(config=server.config()))
    with live, pytest.raises(PermissionDeniedError, match="paper"):
        live.buy_stock_market("AAPL", 1)


def test_broker_errors_pass_through(server: FakeServer, adapter: IBKRAdapter) -> None:
    server.broker.fail(
        "PlaceOrder",
        Failure(C.FAILED_PRECONDITION, "no permissions", "ORDER_REJECTED", ib_code=201),
    )
    with pytest.raises(OrderRejectedError) as caught:
        adapter.buy_stock_market("AAPL", 1)
    assert caught.value.ib_code == 201
    with pytest.raises(ContractNotFoundError):
        adapter.get_quote("NOPE")


def test_auth(server: FakeServer, adapter: IBKRAdapter) -> None:
    assert adapter.auth() is True
    server.broker.status.connection_state = common_pb2.CONNECTION_STATE_RECONNECTING
    assert adapter.auth() is False
    server.broker.fail("GetStatus", Failure(C.UNAUTHENTICATED, "bad token"))
    assert adapter.auth() is False
    config = server.config(target=free_port_target(), retries=0, timeout=2.0)
    with IBKRAdapter({}, client=BrokerClient(config=config)) as down:
        assert down.auth() is False


def test_account_and_positions_shapes(adapter: IBKRAdapter) -> None:
    account = adapter.get_account()
    assert {"cash", "buying_power", "equity", "currency", "account_id"} <= set(account)
    assert account["cash"] == Decimal("950000.50") and account["equity"] == Decimal("1000000.00")
    assert account["currency"] == "USD" and account["account_id"] == "DU1234567"
    assert all(isinstance(account[k], Decimal) for k in ("cash", "buying_power", "equity"))
    assert len(adapter.get_accounts()) == 1
    stock_position, option_position = adapter.get_positions()
    for p in (stock_position, option_position):
        assert {"symbol", "quantity", "avg_price", "market_value", "unrealized_pnl",
                "sec_type"} <= set(p)  # fmt: skip
    assert (stock_position["sec_type"], stock_position["quantity"]) == ("STK", Decimal(10))
    assert option_position["avg_price"] == Decimal("5.123") and option_position["right"] == "C"
    assert option_position["realized_pnl"] is None


def test_orders_queries(server: FakeServer, adapter: IBKRAdapter) -> None:
    filled = adapter.buy_stock_market("AAPL", 1)
    working = adapter.buy_stock_limit("AAPL", 1, 1)
    assert adapter.get_order(working["order_id"])["status"] == "submitted"
    assert [o["order_id"] for o in adapter.list_orders()] == [
        working["order_id"],
        filled["order_id"],
    ]
    assert [o["order_id"] for o in adapter.list_orders("open")] == [working["order_id"]]
    assert [o["order_id"] for o in adapter.list_orders("completed")] == [filled["order_id"]]
    assert [o["order_id"] for o in adapter.list_orders("FILLED")] == [filled["order_id"]]
    assert adapter.list_orders("cancelled") == []
    modified = adapter.modify_order(working["order_id"], limit_price=2)
    assert modified["limit_price"] == Decimal(2)
    assert adapter.cancel_order(working["order_id"])["status"] == "cancelled"
    assert adapter.cancel_all_orders() == []


def test_combo_contract_and_multi_leg_order(server: FakeServer, adapter: IBKRAdapter) -> None:
    combo = adapter.create_combo_contract("SPY", [(101, 1, "BUY", "SMART"), (102, 1, "SELL", "")])
    assert combo == {
        "symbol": "SPY", "sec_type": "BAG", "exchange": "SMART", "currency": "USD",
        "legs": [{"con_id": 101, "ratio": 1, "action": "buy", "exchange": "SMART"},
                 {"con_id": 102, "ratio": 1, "action": "sell", "exchange": "SMART"}],
    }  # fmt: skip
    credit = adapter.place_multi_leg_order(combo, "sell", 2, limit_price=-0.35)
    assert credit["status"] == "submitted"
    sent = server.broker.calls_of("PlaceOrder")[-1].request
    assert sent.contract.security_type == contract_pb2.SECURITY_TYPE_COMBO
    assert [leg.con_id for leg in sent.contract.combo_legs] == [101, 102]
    assert (sent.order.limit_price, sent.order.quantity) == ("-0.35", "2")
    market = adapter.place_multi_leg_order(combo, "buy", 1)
    assert market["type"] == "market"
    with pytest.raises(ValueError, match="colour"):
        adapter.place_multi_leg_order(combo, "buy", 1, colour="red")


def test_contract_chain_and_quote(server: FakeServer, adapter: IBKRAdapter) -> None:
    [details] = adapter.resolve_contract("AAPL")
    assert details["con_id"] == 265598 and details["long_name"] == "APPLE INC"
    assert details["min_tick"] == Decimal("0.01") and details["sec_type"] == "STK"
    adapter.resolve_contract("AAPL", "OPT", lastTradeDate="20260116", right="C")
    sent = server.broker.calls_of("ResolveContract")[-1].request.contract
    assert (sent.security_type, sent.last_trade_date) == (
        contract_pb2.SECURITY_TYPE_OPTION,
        "20260116",
    )
    chain = adapter.get_option_chain("AAPL")
    assert chain["expirations"] == ["20260116", "20260220"]
    assert chain["strikes"] == [Decimal(s) for s in ("180", "185", "190", "200")]
    assert len(chain["chains"]) == 2 and chain["underlying_con_id"] == 265598
    quote_dict = adapter.get_quote("AAPL")
    assert {"bid", "ask", "last", "bid_size", "ask_size", "volume"} <= set(quote_dict)
    assert (quote_dict["bid"], quote_dict["ask"]) == (Decimal("189.99"), Decimal("190.01"))


def test_stream_quotes_yields_dicts_and_reconnect_markers(
    server: FakeServer, adapter: IBKRAdapter
) -> None:
    server.broker.quote_messages = [
        quote_batch(1, quote("AAPL", "1", "2", "1.5"), quote("MSFT", "3", "4", "3.5")),
        quote_batch(2, quote("AAPL", "1.1", "2", "1.5")),
    ]
    server.broker.quote_drops = [1, None]
    items = list(adapter.stream_quotes(["AAPL", "MSFT"]))
    assert [(i["type"], i.get("symbol")) for i in items] == [
        ("quote", "AAPL"), ("quote", "MSFT"), ("reconnected", None), ("quote", "AAPL"),
        ("quote", "MSFT"), ("quote", "AAPL"),
    ]  # fmt: skip
    assert items[0]["bid"] == Decimal(1) and items[2]["stream"] == "quotes"
    single = adapter.stream_quotes("AAPL")
    assert next(single)["symbol"] == "AAPL"
    single.close()  # type: ignore[attr-defined]


def test_order_events_as_dicts(server: FakeServer, adapter: IBKRAdapter) -> None:
    server.broker.events = [order_event("ord-1", order_pb2.ORDER_STATUS_FILLED)]
    [event] = list(adapter.order_events())
    assert event["type"] == "order_event" and event["sequence"] == 1
    assert event["event"] == "status_changed" and event["order"]["status"] == "filled"


def test_config_validation() -> None:
    for config, key in [
        ({"paper_trading": "yes"}, "paper_trading"),
        ({"tagret": "x"}, "tagret"),
        ({"timeouts": {"place_ordr": 3}}, "place_ordr"),
        ({"timeouts": {"place_order": -1}}, "place_order"),
        ({"timeouts": "fast"}, "timeouts"),
        ({"timeout": "10"}, "timeout"),
        ({"account": 5}, "account"),
        ({"client_cert": "c.pem"}, "client_cert"),
    ]:
        with pytest.raises(ValueError, match=key):
            IBKRAdapter(config)


def test_config_builds_the_client(server: FakeServer) -> None:
    config = {
        "target": server.target, "token": "tok", "timeout": 4, "retries": 0, "account": "DU1",
        "timeouts": {"default": 3, "get_quote": 1.5},
    }  # fmt: skip
    with IBKRAdapter(config) as adapter:
        assert adapter.client.config.target == server.target
        assert adapter.client.config.timeout == 4 and adapter.client.config.retries == 0
        assert adapter._t("get_quote") == 1.5 and adapter._t("place_order") == 3
        adapter.get_positions()
    call = server.broker.calls[-1]
    assert call.metadata["authorization"] == "Bearer tok"
    assert call.request.account_id == "DU1"
    assert isinstance(adapter, BrokerAdapter)


def test_broker_adapter_is_abstract() -> None:
    with pytest.raises(TypeError):
        BrokerAdapter()  # type: ignore[abstract]


def test_combo_legs_by_contract_spec(server: FakeServer, adapter: IBKRAdapter) -> None:
    call = {"symbol": "SPY", "secType": "OPT", "lastTradeDate": "20260116", "strike": 450,
            "right": "C", "action": "buy"}  # fmt: skip
    put = ({"symbol": "SPY", "sec_type": "OPT", "expiry": "20260116", "strike": "440",
            "right": "PUT"}, 2, "sell")  # fmt: skip
    combo = adapter.create_combo_contract("SPY", [call, put, {"con_id": 756733, "action": "buy"}])
    legs = combo["legs"]
    assert [(leg["con_id"], leg["ratio"], leg["action"]) for leg in legs] == [
        (None, 1, "buy"), (None, 2, "sell"), (756733, 1, "buy"),
    ]  # fmt: skip
    assert legs[0]["contract"]["strike"] == 450 and legs[1]["contract"]["right"] == "P"
    adapter.place_multi_leg_order(combo, "buy", 1, limit_price="1.25")
    sent = server.broker.calls_of("PlaceOrder")[-1].request.contract.combo_legs
    assert [leg.HasField("contract") for leg in sent] == [True, True, False]
    assert (sent[0].contract.symbol, sent[0].contract.strike, sent[0].con_id) == ("SPY", "450", 0)
    assert sent[1].contract.right == contract_pb2.OPTION_RIGHT_PUT and sent[1].ratio == 2
    assert sent[1].contract.last_trade_date == "20260116"


@pytest.mark.parametrize(
    ("legs", "message"),
    [
        ([{"symbol": "SPY", "secType": "OPT", "strike": -1, "action": "buy"}, (1, 1, "sell")],
         r"^legs\[0\]\.strike must be positive"),
        ([(1, 1, "buy"), {"symbol": "SPY", "secType": "BAG", "action": "sell"}],
         r"^legs\[1\]\.sec_type: a leg cannot be a combo"),
        ([(1, 1, "buy"), {"symbol": "", "action": "sell"}], r"^legs\[1\]\.symbol"),
        ([(1, 1, "buy"), {"ratio": 1, "action": "sell"}], r"^legs\[1\]\.con_id"),
        ([(1, 1, "buy"), ({"symbol": "SPY", "colour": "red"}, 1, "sell")], r"^legs\[1\]\..*colour"),
    ],
)  # fmt: skip
def test_bad_leg_specs_name_the_leg(
    server: FakeServer, adapter: IBKRAdapter, legs: list[Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        adapter.create_combo_contract("SPY", legs)
    assert server.broker.calls == []


SHARED_NAMES = (
    "status", "resolve_contract", "option_chain", "get_order", "list_orders", "account",
    "positions", "quote", "place_order", "modify_order", "cancel_order", "cancel_all_orders",
    "halt_trading", "resume_trading", "stream_quotes", "order_events",
)  # fmt: skip


def test_the_adapter_and_the_client_use_one_set_of_names() -> None:
    for name in SHARED_NAMES:
        assert callable(getattr(IBKRAdapter, name)) and callable(getattr(BrokerClient, name))
    for old, new in [("get_status", "status"), ("get_account", "account"),
                     ("get_accounts", "accounts"), ("get_positions", "positions"),
                     ("get_option_chain", "option_chain"), ("get_quote", "quote")]:  # fmt: skip
        assert getattr(IBKRAdapter, old) is getattr(IBKRAdapter, new)


def test_new_names_answer_like_the_old_ones(server: FakeServer, adapter: IBKRAdapter) -> None:
    assert adapter.status() == adapter.get_status()
    assert adapter.account() == adapter.get_account()
    assert adapter.positions() == adapter.get_positions()
    assert adapter.option_chain("AAPL") == adapter.get_option_chain("AAPL")
    assert adapter.quote("AAPL")["bid"] == adapter.get_quote("AAPL")["bid"] == Decimal("189.99")


def test_timeouts_by_new_or_old_name(server: FakeServer) -> None:
    client = BrokerClient(config=server.config())
    with IBKRAdapter({"timeouts": {"quote": 2, "get_positions": 3}}, client=client) as adapter:
        assert adapter._t("quote") == adapter._t("get_quote") == 2
        assert adapter._t("positions") == 3
    with pytest.raises(ValueError, match="same method"):
        IBKRAdapter({"timeouts": {"quote": 2, "get_quote": 3}}, client=client)


def test_another_adapter_gets_the_new_names_from_its_get_methods() -> None:
    class Paper(BrokerAdapter):
        def auth(self) -> bool:
            return True

        def get_account(self) -> dict[str, Any]:
            return {"cash": Decimal(1)}

        def get_positions(self) -> list[dict[str, Any]]:
            return []

        def place_order(self, order: Any) -> dict[str, Any]:
            return dict(order)

        def cancel_order(self, order_id: str) -> dict[str, Any]:
            return {}

        def get_order(self, order_id: str) -> dict[str, Any]:
            return {}

        def list_orders(self, status: str | None = None) -> list[dict[str, Any]]:
            return []

        def get_quote(self, symbol: str) -> dict[str, Any]:
            return {"symbol": symbol}

        def stream_quotes(self, symbols: Any) -> Any:
            return iter(())

        def resolve_contract(self, symbol: str, sec_type: str = "STK", **f: Any) -> Any:
            return []

        def get_option_chain(self, symbol: str) -> dict[str, Any]:
            return {"symbol": symbol}

        def create_combo_contract(self, symbol: str, legs: Any) -> dict[str, Any]:
            return {}

        def place_multi_leg_order(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            return {}

    paper = Paper()
    assert paper.account() == {"cash": Decimal(1)} and paper.positions() == []
    assert paper.quote("X") == {"symbol": "X"} == paper.option_chain("X")
