"""`ibkr-broker mcp` driven by the MCP SDK's own client, over stdio and streamable HTTP, against
the real gRPC server (with tokens, a risk limit and the kill switch) and the TWS simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest
from ibkr_broker.client.mcp_server.server import READ_TOOLS, TRADE_TOOLS
from ibkr_broker.server import certs
from mcp import Client

from tests.waiting import wait_until

from .mcp_env import error_text, mcp_http, mcp_stdio, ok, resource_json
from .security_env import TOKENS, with_tokens
from .server_env import ServerEnv

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("tws_era")]

SECTIONS = {**with_tokens(), "risk": {"max_order_quantity": "100"}}


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[ServerEnv]:
    async with ServerEnv(tmp_path, sections=SECTIONS) as running:
        yield running


def placed_at_sim(env: ServerEnv) -> int:
    """Orders in the simulator's book (what-if previews never enter it)."""
    return len(env.sim_orders())


def open_at_sim(env: ServerEnv) -> int:
    return len(env.sim.exchange.open_orders())


async def far_below_market(client: Client) -> str:
    """A limit price half the ask: the order rests at the simulator."""
    quote = ok(await client.call_tool("quote", {"symbol": "AAPL"}))
    return str((Decimal(quote["ask"]) / 2).quantize(Decimal("0.01")))


async def test_stdio_read_tools_and_resources(env: ServerEnv, tmp_path: Path) -> None:
    async with mcp_stdio(env.target, tmp_path, "--token", TOKENS["read"]) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(listed) == set(READ_TOOLS) | set(TRADE_TOOLS)
        place_schema = listed["place_order"].input_schema
        assert set(place_schema["required"]) == {"symbol", "side", "quantity"}
        assert place_schema["properties"]["side"]["enum"] == ["buy", "sell"]

        status = ok(await client.call_tool("status", {}))
        assert status["ready"] and status["paper_trading"] and status["accounts"]
        [aapl] = ok(await client.call_tool("resolve_contract", {"symbol": "AAPL"}))["matches"]
        assert aapl["con_id"] > 0 and aapl["sec_type"] == "STK"
        chain = ok(await client.call_tool("option_chain", {"symbol": "AAPL"}))
        assert chain["expirations"] and chain["strikes"]
        quote = ok(await client.call_tool("quote", {"symbol": "AAPL"}))
        assert Decimal(quote["bid"]) <= Decimal(quote["ask"])
        # A past session's last hour (the simulator has bars only within trading hours).
        hour = {"symbol": "AAPL", "duration": "3600 S", "bar_size": "5 mins",
                "end_time": "2026-11-24T20:00:00Z", "max_bars": 5}  # fmt: skip
        bars = ok(await client.call_tool("historical_bars", hour))
        assert bars["total"] == 12 and len(bars["bars"]) == 5
        for bar in bars["bars"]:
            assert Decimal(bar["low"]) <= Decimal(bar["close"]) <= Decimal(bar["high"])
        bad = error_text(await client.call_tool("historical_bars", {**hour, "bar_size": "7 mins"}))
        assert "bar_size" in bad
        [account] = ok(await client.call_tool("account", {}))["accounts"]
        assert account["account_id"] == status["accounts"][0] and Decimal(account["cash"]) > 0
        assert ok(await client.call_tool("positions", {})) == {"positions": []}
        assert ok(await client.call_tool("list_orders", {"status": "open"})) == {"orders": []}
        missing = error_text(await client.call_tool("get_order", {"order_id": "o-none"}))
        assert "ORDER_NOT_FOUND" in missing

        uris = {str(r.uri) for r in (await client.list_resources()).resources}
        assert uris == {"ibkr://account", "ibkr://positions"}
        summary = resource_json(await client.read_resource("ibkr://account"))
        assert summary["accounts"][0]["account_id"] == account["account_id"]
        assert resource_json(await client.read_resource("ibkr://positions")) == {"positions": []}

        # A read token may look but not trade: the server decides, the tool reports it.
        refused = error_text(
            await client.call_tool("place_order", {"symbol": "AAPL", "side": "buy", "quantity": 1})
        )
        assert "permission denied" in refused
    assert placed_at_sim(env) == 0


async def test_stdio_place_retry_cancel_and_refusals(env: ServerEnv, tmp_path: Path) -> None:
    async with mcp_stdio(env.target, tmp_path, "--token", TOKENS["trade"]) as client:
        price = await far_below_market(client)
        preview = ok(
            await client.call_tool(
                "what_if",
                {"symbol": "AAPL", "side": "buy", "quantity": "10", "type": "limit",
                 "limit_price": price},
            )
        )  # fmt: skip
        assert preview["status"] == "what_if" and Decimal(preview["preview"]["commission"]) > 0
        assert placed_at_sim(env) == 0
        sent = env.sim.stats.requests["PlaceOrder"]  # the what-if was one message to TWS

        order = {"symbol": "AAPL", "side": "buy", "quantity": "1", "type": "limit",
                 "limit_price": price}  # fmt: skip
        placed = ok(await client.call_tool("place_order", order))
        assert placed["status"] in ("submitted", "pending_submit") and placed["request_id"]
        await wait_until(lambda: open_at_sim(env) == 1, 10, "resting at the simulator")
        again = ok(
            await client.call_tool("place_order", {**order, "request_id": placed["request_id"]})
        )
        assert again["order_id"] == placed["order_id"]
        assert placed_at_sim(env) == 1 and env.sim.stats.requests["PlaceOrder"] == sent + 1

        by_request = ok(await client.call_tool("get_order", {"request_id": placed["request_id"]}))
        assert by_request["order_id"] == placed["order_id"]
        listed = ok(await client.call_tool("list_orders", {"status": "open"}))["orders"]
        assert [o["order_id"] for o in listed] == [placed["order_id"]]

        lower = str(Decimal(price) - Decimal("0.50"))
        change = {"order_id": placed["order_id"], "limit_price": lower}
        modified = ok(await client.call_tool("modify_order", change))
        # The server keeps prices normalised ("114.20" is "114.2"): compare the numbers.
        assert Decimal(modified["limit_price"]) == Decimal(lower) and modified["request_id"]
        await wait_until(
            lambda: (
                [o.request.lmt_price for o in env.sim.exchange.open_orders()] == [Decimal(lower)]
            ),
            10,
            "modified at the simulator",
        )

        cancelled = ok(await client.call_tool("cancel_order", {"order_id": placed["order_id"]}))
        assert cancelled["status"] in ("pending_cancel", "cancelled")
        await wait_until(lambda: open_at_sim(env) == 0, 10, "cancelled at the simulator")

        risky = error_text(await client.call_tool("place_order", {**order, "quantity": "101"}))
        assert "risk limit RISK_MAX_ORDER_QUANTITY" in risky and "limit 100" in risky
        assert "attempted 101" in risky
        admin_only = error_text(await client.call_tool("halt_trading", {"reason": "test"}))
        assert "permission denied" in admin_only
        # Since the what-if: the placement and the modification (a placeOrder at TWS), no more.
        assert placed_at_sim(env) == 1 and env.sim.stats.requests["PlaceOrder"] == sent + 2


BAD_INPUT: list[tuple[dict[str, Any], str]] = [
    ({"symbol": "AAPL", "side": "buy", "quantity": "-5"}, "quantity"),
    ({"symbol": "AAPL", "side": "buy", "quantity": 0}, "quantity"),
    ({"symbol": "AAPL", "side": "buy", "quantity": "ten"}, "quantity"),
    ({"side": "buy", "quantity": "1"}, "symbol"),
    ({"symbol": "AAPL", "quantity": "1"}, "side"),
    ({"symbol": "AAPL", "side": "hold", "quantity": "1"}, "side"),
    ({"symbol": "NOSUCHSYM", "side": "buy", "quantity": "1"}, "symbol"),
    ({"symbol": "AAPL", "side": "buy", "quantity": "1", "type": "limit"}, "limit_price"),
    ({"symbol": "AAPL", "side": "buy", "quantity": "1", "limit_price": "10"}, "limit_price"),
    ({"symbol": "AAPL", "side": "buy", "quantity": "1", "type": "limit",
      "limit_price": "-1"}, "limit_price"),
    ({"symbol": "AAPL", "side": "buy", "quantity": "1", "request_id": ""}, "request_id"),
]  # fmt: skip


async def test_bad_input_is_a_tool_error_naming_the_field(env: ServerEnv, tmp_path: Path) -> None:
    async with mcp_stdio(env.target, tmp_path, "--token", TOKENS["trade"]) as client:
        for arguments, field in BAD_INPUT:
            text = error_text(await client.call_tool("place_order", arguments))
            assert field in text and "\n" not in text, (arguments, text)
        negative = {"symbol": "AAPL", "side": "buy", "quantity": "-5"}
        assert error_text(await client.call_tool("place_order", negative)) == (
            "invalid input: quantity: Input should be greater than 0"
        )
        assert "quantity" in error_text(
            await client.call_tool("what_if", {"symbol": "AAPL", "side": "buy", "quantity": -1})
        )
        assert "give at least one change" in error_text(
            await client.call_tool("modify_order", {"order_id": "o1"})
        )
        assert "order_id" in error_text(await client.call_tool("cancel_order", {}))
    assert env.sim.stats.requests["PlaceOrder"] == 0 and placed_at_sim(env) == 0


async def test_http_admin_halts_and_the_next_order_is_refused(env: ServerEnv) -> None:
    async with mcp_http(env.target, "--token", TOKENS["admin"]) as (client, url):
        assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp")
        listed = {tool.name for tool in (await client.list_tools()).tools}
        assert listed == set(READ_TOOLS) | set(TRADE_TOOLS)
        assert ok(await client.call_tool("status", {}))["ready"]
        price = await far_below_market(client)
        order = {"symbol": "AAPL", "side": "buy", "quantity": "1", "type": "limit",
                 "limit_price": price}  # fmt: skip
        resting = ok(await client.call_tool("place_order", order))
        await wait_until(lambda: open_at_sim(env) == 1, 10, "resting at the simulator")

        halted = ok(await client.call_tool("halt_trading", {"reason": "mcp test"}))
        assert halted["halted"] and halted["engaged"] and halted["reason"] == "mcp test"
        assert halted["cancelled_order_ids"] == [resting["order_id"]]
        await wait_until(lambda: open_at_sim(env) == 0, 10, "cancelled by the kill switch")

        refused = error_text(await client.call_tool("place_order", order))
        assert "trading is halted" in refused and "TRADING_HALTED" not in refused.split(":")[0]
        assert ok(await client.call_tool("status", {}))["kill_switch"]["engaged"]
    assert env.sim.stats.requests["PlaceOrder"] == 1


async def test_http_read_only_exposes_only_read_tools(env: ServerEnv) -> None:
    async with mcp_http(env.target, "--token", TOKENS["admin"], "--read-only") as (client, _):
        listed = {tool.name for tool in (await client.list_tools()).tools}
        assert listed == set(READ_TOOLS)
        result = await client.call_tool("place_order", {"symbol": "AAPL", "side": "buy",
                                                        "quantity": "1"})  # fmt: skip
        assert "place_order" in error_text(result)
        assert ok(await client.call_tool("positions", {})) == {"positions": []}
    assert env.sim.stats.requests["PlaceOrder"] == 0


async def test_confirm_mode_previews_then_places_once(env: ServerEnv, tmp_path: Path) -> None:
    async with mcp_stdio(env.target, tmp_path, "--token", TOKENS["trade"], "--confirm") as client:
        price = await far_below_market(client)
        order = {"symbol": "AAPL", "side": "buy", "quantity": "2", "type": "limit",
                 "limit_price": price}  # fmt: skip
        pending = ok(await client.call_tool("place_order", order))
        assert pending["status"] == "confirmation_required" and "commission" in pending["preview"]
        token, request_id = pending["confirmation_token"], pending["request_id"]
        assert placed_at_sim(env) == 0

        other = {**order, "quantity": "3", "confirmation_token": token}
        assert "other arguments" in error_text(await client.call_tool("place_order", other))
        unknown = {**order, "confirmation_token": "not-a-token"}
        assert "unknown or expired" in error_text(await client.call_tool("place_order", unknown))
        assert placed_at_sim(env) == 0

        confirmed = {**order, "confirmation_token": token}
        placed = ok(await client.call_tool("place_order", confirmed))
        assert placed["request_id"] == request_id and placed["status"] != "confirmation_required"
        again = ok(await client.call_tool("place_order", confirmed))  # a retry: the same order
        assert again["order_id"] == placed["order_id"]
        await wait_until(lambda: open_at_sim(env) == 1, 10, "resting at the simulator")
        assert placed_at_sim(env) == 1

        change = {"order_id": placed["order_id"], "quantity": "4"}
        preview = ok(await client.call_tool("modify_order", change))
        assert preview["status"] == "confirmation_required"
        assert preview["current"]["quantity"] == "2" and "commission" in preview["preview"]
        token = preview["confirmation_token"]
        modified = ok(
            await client.call_tool("modify_order", {**change, "confirmation_token": token})
        )
        assert modified["quantity"] == "4"
        await wait_until(
            lambda: [o.filled + o.remaining for o in env.sim.exchange.open_orders()] == [4],
            10,
            "modified at the simulator",
        )


async def test_mutual_tls_and_a_token_as_the_command_line_takes_them(tmp_path: Path) -> None:
    pki = certs.generate(tmp_path / "pki")
    security = {"tls_cert_file": str(pki.server_cert), "tls_key_file": str(pki.server_key),
                "client_ca_file": str(pki.ca_cert)}  # fmt: skip
    sections = with_tokens(**security)
    channel_credentials = grpc.ssl_channel_credentials(
        root_certificates=pki.ca_cert.read_bytes(),
        private_key=pki.client_key.read_bytes(),
        certificate_chain=pki.client_cert.read_bytes(),
    )
    async with ServerEnv(tmp_path, sections=sections, credentials=channel_credentials) as env:
        tls_args = ("--ca-cert", str(pki.ca_cert), "--client-cert", str(pki.client_cert),
                    "--client-key", str(pki.client_key))  # fmt: skip
        async with mcp_stdio(env.target, tmp_path, *tls_args, "--token", TOKENS["read"]) as client:
            assert ok(await client.call_tool("status", {}))["ready"]
        async with mcp_stdio(env.target, tmp_path, *tls_args, "--token", "wrong") as client:
            assert "UNAUTHENTICATED" in error_text(await client.call_tool("status", {}))
        async with mcp_stdio(env.target, tmp_path, "--token", TOKENS["read"]) as client:
            assert "failed: UNAVAILABLE" in error_text(await client.call_tool("status", {}))
