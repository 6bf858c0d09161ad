"""Logs an operator can use: JSON lines (time, level, logger, message, the event's fields), one
INFO line per order event with the order's identity and terms, one line per reconnect saying
what reconciliation found, and never a token."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from ibkr_broker.server.logs import JsonFormatter, configure
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import broker_service_pb2_grpc, common_pb2

from tests.integration.security_env import bearer, with_tokens
from tests.integration.server_env import AAPL, BUY, MSFT, ServerEnv, limit, market, place
from tests.waiting import wait_until, wait_until_sync

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("tws_era")]
ORDER_FIELDS = ("order_id", "ib_order_id", "symbol", "side", "quantity", "price")


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The root logger writes JSON lines into a buffer, as `--log-format json` sets it up."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    buffer = io.StringIO()
    configure("INFO", "json", buffer)
    yield buffer
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def order_lines(buffer: io.StringIO, order_id: str) -> list[dict[str, Any]]:
    return [e for e in lines(buffer) if e["logger"] == "ibkr_broker.orders"
            and e["order_id"] == order_id]  # fmt: skip


def test_json_formatter_writes_one_object_with_the_fields_and_redacts_secrets() -> None:
    record = logging.LogRecord("ibkr_broker.x", logging.INFO, __file__, 1, "hello %s", ("you",),
                               None)  # fmt: skip
    record.__dict__.update(order_id="o-1", price=__import__("decimal").Decimal("1.50"),
                           token="s3cret", authorization="Bearer s3cret")  # fmt: skip
    text = JsonFormatter().format(record)
    assert "\n" not in text and "s3cret" not in text
    entry = json.loads(text)
    assert entry["message"] == "hello you" and entry["level"] == "INFO"
    assert entry["logger"] == "ibkr_broker.x" and entry["time"].endswith("+00:00")
    assert entry["order_id"] == "o-1" and entry["price"] == "1.50"
    assert entry["token"] == entry["authorization"] == "[redacted]"


async def test_every_order_event_is_one_info_line_and_no_token_is_logged(
    tmp_path: Path, json_log: io.StringIO
) -> None:
    async with ServerEnv(tmp_path, sections=with_tokens()) as env:
        auth = bearer("trade")
        working = await env.stub.PlaceOrder(place(AAPL, limit(BUY, "3", "1.25")), metadata=auth,
                                            timeout=10)  # fmt: skip
        await env.stub.CancelOrder(
            pb.CancelOrderRequest(request_id="c-1", order_id=working.order.order_id),
            metadata=auth, timeout=10,
        )  # fmt: skip
        filled = await env.stub.PlaceOrder(place(MSFT, market(BUY, "2")), metadata=auth,
                                           timeout=10)  # fmt: skip
        env.sim.reject_next_order("no such luck")
        with pytest.raises(grpc.aio.AioRpcError):
            await env.stub.PlaceOrder(place(AAPL, limit(BUY, "1", "2")), metadata=auth, timeout=10)
        await wait_until(lambda: any(e.get("event") == "filled"
                                     for e in order_lines(json_log, filled.order.order_id)),
                         10, "the fill logged")  # fmt: skip
    cancelled = order_lines(json_log, working.order.order_id)
    assert [e["event"] for e in cancelled][:2] == ["placed", "acknowledged"]
    assert cancelled[-1]["event"] == "cancelled"
    for entry in cancelled:
        assert entry["level"] == "INFO"
        assert all(name in entry for name in ORDER_FIELDS), entry
        assert (entry["symbol"], entry["side"], entry["quantity"], entry["price"]) == (
            "AAPL", "BUY", "3", "1.25")  # fmt: skip
    assert cancelled[-1]["ib_order_id"] > 0
    fills = order_lines(json_log, filled.order.order_id)
    assert fills[-1]["event"] == "filled" and fills[-1]["price"] is None
    assert any("fill_price" in e for e in fills)
    rejected = [e for e in lines(json_log) if e.get("event") == "rejected"]
    assert len(rejected) == 1 and rejected[0]["error_code"] == 201
    assert "no such luck" in rejected[0]["error_message"]
    text = json_log.getvalue()
    for _, header in bearer("trade") + bearer("read") + bearer("admin"):
        assert header.split()[1] not in text


async def test_a_reconnect_logs_what_reconciliation_found(
    tmp_path: Path, json_log: io.StringIO
) -> None:
    async with ServerEnv(tmp_path) as env:
        stream = env.stub.StreamQuotes(pb.StreamQuotesRequest(contracts=[AAPL]), timeout=30)
        await stream.read()
        await env.stub.PlaceOrder(place(AAPL, limit(BUY, "1", "1.00")), timeout=10)
        await wait_until(lambda: len(reconciled(json_log)) == 1, 10, "the first reconciliation")
        env.sim.drop_all()
        await wait_until(lambda: len(reconciled(json_log)) == 2, 15, "reconciliation logged")
        stream.cancel()
    first, after = reconciled(json_log)
    assert first["reconnect"] is False
    assert after["reconnect"] is True and "after reconnect" in after["message"]
    assert after["open_orders_checked"] == 1
    assert after["subscriptions_restored"] == 1
    assert after["executions_recovered"] == 0 and after["orders_settled"] == 0


def reconciled(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [e for e in lines(buffer) if "open_orders_checked" in e]


def test_serve_log_format_json_writes_only_json_lines(tmp_path: Path) -> None:
    err = (tmp_path / "serve.err").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ibkr_broker", "serve", "--sim", "--listen", "127.0.0.1:0",
         "--data-dir", str(tmp_path / "data"), "--log-format", "json"],
        stdout=subprocess.PIPE, stderr=err, text=True, env={**os.environ},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        match = re.search(r"on (127\.0\.0\.1:\d+) ", proc.stdout.readline())
        assert match
        with grpc.insecure_channel(match.group(1)) as channel:
            stub = broker_service_pb2_grpc.BrokerServiceStub(channel)

            def ready() -> bool:
                status = stub.GetStatus(pb.GetStatusRequest(), wait_for_ready=True, timeout=5)
                return bool(status.connection_state == common_pb2.CONNECTION_STATE_READY)

            wait_until_sync(ready, 20, "the server is ready")
            stub.PlaceOrder(place(AAPL, market(BUY, "1")), timeout=10)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    entries = [json.loads(line) for line in (tmp_path / "serve.err").read_text().splitlines()]
    assert entries and all({"time", "level", "logger", "message"} <= e.keys() for e in entries)
    placed = [e for e in entries if e.get("event") == "placed"]
    assert len(placed) == 1 and placed[0]["symbol"] == "AAPL" and placed[0]["quantity"] == "1"


@pytest.mark.parametrize(
    ("section", "values", "named"),
    [("server", {"log_format": "xml"}, "server.log_format"),
     ("metrics", {"listen": "9464"}, "metrics.listen")],
)  # fmt: skip
def test_bad_log_format_and_metrics_address_name_the_setting(
    section: str, values: dict[str, str], named: str
) -> None:
    from ibkr_broker.server.config import ConfigError, build

    with pytest.raises(ConfigError, match=named):
        build({section: values}, env={})


async def test_edge_log_format_json_writes_only_json_lines(tmp_path: Path) -> None:
    from tests.integration.bus_env import NatsServer

    async with NatsServer(tmp_path) as nats_server:
        err = (tmp_path / "edge.err").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "ibkr_broker", "edge", "--bus", nats_server.url,
             "--listen", "127.0.0.1:0", "--data-dir", str(tmp_path / "edge"),
             "--log-format", "json", "--log-level", "info"],
            stdout=subprocess.PIPE, stderr=err, text=True,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            assert "edge serving" in proc.stdout.readline()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    entries = [json.loads(line) for line in (tmp_path / "edge.err").read_text().splitlines()]
    assert entries and all({"time", "level", "logger", "message"} <= e.keys() for e in entries)
    assert any("edge serving" in e["message"] for e in entries)
