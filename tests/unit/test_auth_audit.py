"""The audit log: one JSON line per record, safe under concurrent writers, no secrets."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest
from ibkr_broker.server.audit import AuditLog, order_ids, summarize
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import common_pb2, contract_pb2, order_pb2

pytestmark = pytest.mark.timeout(20)

PLACE = pb.PlaceOrderRequest(
    request_id="r1",
    contract=contract_pb2.Contract(security_type=contract_pb2.SECURITY_TYPE_STOCK, symbol="AAPL"),
    order=order_pb2.OrderSpec(
        action=common_pb2.ORDER_ACTION_BUY,
        quantity="10",
        order_type=order_pb2.ORDER_TYPE_LIMIT,
        limit_price="190.5",
        order_ref="x" * 1000,
    ),
    bracket=order_pb2.BracketSpec(take_profit_limit_price="200"),
)


def test_summary_keeps_the_order_terms_only() -> None:
    summary = summarize(PLACE)
    assert summary["request_id"] == "r1"
    assert summary["contract"] == {"security_type": "SECURITY_TYPE_STOCK", "symbol": "AAPL"}
    order = summary["order"]
    assert order["action"] == "ORDER_ACTION_BUY" and order["quantity"] == "10"
    assert order["order_type"] == "ORDER_TYPE_LIMIT" and order["limit_price"] == "190.5"
    assert len(order["order_ref"]) == 200  # truncated
    assert summary["bracket"] == {"take_profit_limit_price": "200"}
    assert summarize(pb.CancelOrderRequest(request_id="r2", order_id="o7")) == {
        "request_id": "r2",
        "order_id": "o7",
    }
    assert summarize(pb.HaltTradingRequest(request_id="r3", reason="fat finger")) == {
        "request_id": "r3",
        "reason": "fat finger",
    }
    assert summarize(None) == {}


def test_order_ids_of_responses() -> None:
    placed = pb.PlaceOrderResponse(
        order=order_pb2.Order(order_id="o1"),
        bracket_orders=[order_pb2.Order(order_id="o2"), order_pb2.Order(order_id="o3")],
    )
    assert order_ids(placed) == ["o1", "o2", "o3"]
    assert order_ids(pb.CancelAllOrdersResponse(order_ids=["o4", "o5"])) == ["o4", "o5"]
    assert order_ids(pb.HaltTradingResponse(cancelled_order_ids=["o6"])) == ["o6"]
    assert order_ids(pb.ModifyOrderResponse(order=order_pb2.Order(order_id="o7"))) == ["o7"]
    assert order_ids(pb.PlaceOrderResponse()) == []
    assert order_ids(None) == []


def test_concurrent_writers_never_interleave_lines(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "audit.jsonl"
    audit = AuditLog(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    def writer(n: int) -> None:
        for i in range(200):
            audit.call(method="PlaceOrder", token=f"t{n}", peer="ipv4:127.0.0.1:1",
                       request=PLACE, response=None, code="OK", reason="")  # fmt: skip
            audit.refused(method="GetStatus", token="", peer=f"p{i}", code="UNAUTHENTICATED",
                          reason="UNAUTHENTICATED")  # fmt: skip

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=15)
    audit.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 8 * 200 * 2
    records = [json.loads(line) for line in lines]
    assert {r["event"] for r in records} == {"call", "refused"}
    assert all(r["time"].endswith("+00:00") for r in records)
    audit.write({"event": "late"})  # closed: logged, not raised
    assert len(path.read_text().splitlines()) == len(lines)


def test_the_log_is_appended_to_across_reopens(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    for n in range(2):
        audit = AuditLog(path)
        audit.refused(method="PlaceOrder", token="ops", peer=str(n), code="PERMISSION_DENIED",
                      reason="READ_ONLY")  # fmt: skip
        audit.close()
    assert [json.loads(x)["peer"] for x in path.read_text().splitlines()] == ["0", "1"]
