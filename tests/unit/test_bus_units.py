"""The bus's pure parts: its settings, subject names, routing of calls and merging of answers."""

from __future__ import annotations

import pytest
from ibkr_broker.server.bus import routing, subjects
from ibkr_broker.server.bus.lease import lease_name
from ibkr_broker.server.bus.replica import state_key
from ibkr_broker.server.config import ConfigError, build
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import common_pb2, order_pb2

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize(
    ("bus", "problem"),
    [
        ({"url": "http://127.0.0.1:4222"}, "bus.url"),
        ({"standby": True}, "bus.standby"),
        ({"url": "nats://127.0.0.1:4222", "lease_ttl": 0.1}, "bus.lease_ttl"),
    ],
)
def test_bad_bus_settings_are_named(bus: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        build({"bus": bus}, env={})


def test_no_bus_by_default() -> None:
    assert build({}, env={}).bus.url == ""


def test_subjects_refuse_an_account_that_is_no_token() -> None:
    assert subjects.orders("DU1") == "ibkr.orders.DU1"
    for bad in ("", "DU.1", "DU*", "DU 1", ">"):
        with pytest.raises(ValueError, match="subject token"):
            subjects.rpc(bad)


def test_lease_and_state_keys_are_valid_kv_keys() -> None:
    assert lease_name("10.0.0.5", 7497, 3) == "tws-10_0_0_5-7497-3"
    assert state_key("L", "request", "a.b c") == "L.req." + b"a.b c".hex()
    assert state_key("L", "order", "o7") == "L.order.o7"


def test_the_account_comes_from_the_request_its_order_or_the_metadata() -> None:
    assert routing.account_of(pb.ListOrdersRequest(account="DU1")) == "DU1"
    assert routing.account_of(pb.GetAccountRequest(account_id="DU2")) == "DU2"
    placed = pb.PlaceOrderRequest(order=order_pb2.OrderSpec(account="DU3"))
    assert routing.account_of(placed) == "DU3"
    header = (("ibkr-account", "DU4"),)
    assert routing.account_of(pb.CancelOrderRequest(order_id="o1"), header) == "DU4"
    assert routing.account_of(pb.CancelOrderRequest(order_id="o1")) == ""


def test_merged_status_lists_every_gateway_and_the_worst_state() -> None:
    ready = pb.GetStatusResponse(
        connection_state=common_pb2.CONNECTION_STATE_READY,
        accounts=["DU1"],
        trading_enabled=True,
        gateways=[pb.GatewayStatus(accounts=["DU1"], server_version=178, tws_port=7497)],
    )
    down = pb.GetStatusResponse(
        connection_state=common_pb2.CONNECTION_STATE_RECONNECTING,
        accounts=["DU2"],
        trading_disabled_reason="not connected",
    )
    merged = routing.merge("GetStatus", [ready, down])
    assert isinstance(merged, pb.GetStatusResponse)
    assert list(merged.accounts) == ["DU1", "DU2"]
    assert merged.connection_state == common_pb2.CONNECTION_STATE_RECONNECTING
    assert not merged.trading_enabled and "DU2: not connected" in merged.trading_disabled_reason
    silent = routing.silent_gateway_status("DU3", {"accounts": ["DU3", "DU4"]}, "no responders")
    merged = routing.merge("GetStatus", [ready, silent])
    assert isinstance(merged, pb.GetStatusResponse)
    assert [list(g.accounts) for g in merged.gateways] == [["DU1"], ["DU3", "DU4"]]
    assert merged.gateways[0].server_version == 178 and merged.gateways[0].tws_port == 7497
    assert merged.gateways[1].connection_state == common_pb2.CONNECTION_STATE_DISCONNECTED
    assert "DU3,DU4: its gateway did not answer: no responders" in merged.trading_disabled_reason
    assert merged.connection_state == common_pb2.CONNECTION_STATE_DISCONNECTED
    cancelled = routing.merge(
        "CancelAllOrders",
        [
            pb.CancelAllOrdersResponse(order_ids=["o1"]),
            pb.CancelAllOrdersResponse(order_ids=["o2"]),
        ],
    )
    assert list(cancelled.order_ids) == ["o1", "o2"]  # type: ignore[attr-defined]
