"""Risk limits and the kill switch over real sockets: the gRPC server on port 0 in front of the
TWS simulator. Every breach is checked against the simulator's own order book."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import contract_pb2, order_pb2

from tests.waiting import wait_until

from .server_env import AAPL, BUY, MSFT, SELL, ServerEnv, limit, market, place

pytestmark = [pytest.mark.timeout(90), pytest.mark.usefixtures("tws_era")]

OPEN_AT_SIM = ("PreSubmitted", "Submitted")


def error_info(err: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    status = rpc_status.from_call(err)
    assert status is not None, "no google.rpc.Status details"
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    return info


async def refused(
    env: ServerEnv, request: pb.PlaceOrderRequest, reason: str, **metadata: Any
) -> error_details_pb2.ErrorInfo:
    """PlaceOrder answers FAILED_PRECONDITION `reason` and the simulator sees no order."""
    sent = env.sim.stats.requests["PlaceOrder"]
    book = len(env.sim_orders())
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await env.stub.PlaceOrder(request, timeout=10, metadata=metadata.pop("md", None))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION, caught.value.details()
    info = error_info(caught.value)
    assert info.reason == reason, caught.value.details()
    assert env.sim.stats.requests["PlaceOrder"] == sent
    assert len(env.sim_orders()) == book
    for key, value in metadata.items():
        assert info.metadata[key] == value
    return info


async def ask_of(env: ServerEnv, contract: contract_pb2.Contract) -> Decimal:
    quote = (await env.stub.GetQuote(pb.GetQuoteRequest(contract=contract), timeout=10)).quote
    return Decimal(quote.ask)


async def resting(env: ServerEnv, contract: contract_pb2.Contract = AAPL, **kw: Any) -> str:
    """A buy limit far below the market (it rests at the simulator); its order_id."""
    far = str((await ask_of(env, contract) / 2).quantize(Decimal("0.01")))
    reply = await env.stub.PlaceOrder(place(contract, limit(BUY, "1", far), **kw), timeout=10)
    return str(reply.order.order_id)


@pytest.fixture
async def make(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    envs: list[ServerEnv] = []

    async def start(**sections: dict[str, Any]) -> ServerEnv:
        env = ServerEnv(tmp_path / str(len(envs)), sections=sections)
        envs.append(env)
        return await env.__aenter__()

    yield start
    for env in envs:
        await env.__aexit__(None, None, None)


# --- each limit, breached once ----------------------------------------------------------------


async def test_max_order_quantity(make: Callable[..., Any]) -> None:
    env = await make(risk={"max_order_quantity": "100"})
    info = await refused(env, place(AAPL, market(BUY, "101")), "RISK_MAX_ORDER_QUANTITY")
    assert dict(info.metadata) == {
        "setting": "risk.max_order_quantity",
        "limit": "100",
        "attempted": "101",
        "scope": "server",
    }
    await env.stub.PlaceOrder(place(AAPL, market(BUY, "100")), timeout=10)
    assert env.sim.stats.requests["PlaceOrder"] == 1


async def test_max_order_notional_priced_from_the_quote(make: Callable[..., Any]) -> None:
    env = await make(risk={"max_order_notional": "10000"})
    ask = await ask_of(env, AAPL)
    too_many = int(Decimal(10000) / ask) + 2
    info = await refused(env, place(AAPL, market(BUY, str(too_many))), "RISK_MAX_ORDER_NOTIONAL")
    assert Decimal(info.metadata["attempted"]) > 10000 and info.metadata["limit"] == "10000"
    price = str((ask / 2).quantize(Decimal("0.01")))  # a limit order: its own price counts
    qty = int(Decimal(10000) / Decimal(price))
    await refused(env, place(AAPL, limit(BUY, str(qty + 1), price)), "RISK_MAX_ORDER_NOTIONAL")
    await env.stub.PlaceOrder(place(AAPL, limit(BUY, str(qty), price)), timeout=10)
    assert len(env.sim_orders()) == 1


async def test_max_position_counts_what_is_held(make: Callable[..., Any]) -> None:
    env = await make(risk={"max_position": "10"})
    await env.stub.PlaceOrder(place(AAPL, market(BUY, "8")), timeout=10)
    await wait_until(lambda: bool(env.sim.exchange.executions()), 10, "the buy filled")
    info = await refused(env, place(AAPL, market(BUY, "3")), "RISK_MAX_POSITION")
    assert info.metadata["attempted"] == "11"
    await env.stub.PlaceOrder(place(AAPL, market(SELL, "18")), timeout=10)  # -10: allowed


async def test_max_open_orders_counts_bracket_orders(make: Callable[..., Any]) -> None:
    env = await make(risk={"max_open_orders": 2})
    await resting(env)
    ask = await ask_of(env, AAPL)
    entry = str((ask / 2).quantize(Decimal("0.01")))
    bracket = order_pb2.BracketSpec(
        take_profit_limit_price=str((ask * 2).quantize(Decimal("0.01")))
    )
    info = await refused(
        env, place(AAPL, limit(BUY, "1", entry), bracket=bracket), "RISK_MAX_OPEN_ORDERS"
    )
    assert info.metadata["attempted"] == "3"
    await resting(env)
    await refused(env, place(AAPL, limit(BUY, "1", entry)), "RISK_MAX_OPEN_ORDERS")


async def test_max_orders_per_minute(make: Callable[..., Any]) -> None:
    env = await make(risk={"max_orders_per_minute": 2})
    await resting(env)
    await resting(env)
    await refused(env, place(AAPL, market(BUY, "1")), "RISK_MAX_ORDERS_PER_MINUTE", limit="2")


async def test_allowed_security_types_and_symbols(make: Callable[..., Any]) -> None:
    env = await make(risk={"allowed_security_types": ["STK"], "allowed_symbols": ["AAPL"]})
    await refused(env, place(MSFT, market(BUY, "1")), "RISK_ALLOWED_SYMBOLS", attempted="MSFT")
    chain = (
        await env.stub.GetOptionChain(pb.GetOptionChainRequest(underlying=AAPL), timeout=10)
    ).chains[0]
    call = contract_pb2.Contract(
        security_type=contract_pb2.SECURITY_TYPE_OPTION,
        symbol="AAPL",
        last_trade_date=chain.expirations[0],
        strike=chain.strikes[len(chain.strikes) // 2],
        right=contract_pb2.OPTION_RIGHT_CALL,
    )
    await refused(
        env, place(call, limit(BUY, "1", "1")), "RISK_ALLOWED_SECURITY_TYPES", attempted="OPT"
    )
    await env.stub.PlaceOrder(place(AAPL, market(BUY, "1")), timeout=10)
    assert env.sim.stats.requests["PlaceOrder"] == 1


async def test_a_modification_above_the_limit_is_refused(make: Callable[..., Any]) -> None:
    env = await make(risk={"max_order_quantity": "10"})
    order_id = await resting(env)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await env.stub.ModifyOrder(
            pb.ModifyOrderRequest(request_id="mod-1", order_id=order_id, quantity="11"),
            timeout=10,
        )
    assert error_info(caught.value).reason == "RISK_MAX_ORDER_QUANTITY"
    [at_sim] = env.sim_orders()
    assert at_sim.request.total_quantity == 1


# --- per-token limits -------------------------------------------------------------------------


def token_entry(name: str, token: str, role: str, **risk: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "role": role,
        "sha256": hashlib.sha256(token.encode()).hexdigest(),
    }
    if risk:
        entry["risk"] = risk
    return entry


async def test_a_token_overrides_the_server_limits(make: Callable[..., Any]) -> None:
    env = await make(
        risk={"max_order_quantity": "100"},
        security={
            "tokens": [
                token_entry("small", "tok-small-1", "trade", max_order_quantity="5"),
                token_entry("big", "tok-big-1", "trade", max_order_quantity="1000"),
                token_entry("plain", "tok-plain-1", "trade"),
            ]
        },
    )

    def md(token: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {token}"),)

    info = await refused(
        env, place(AAPL, market(BUY, "6")), "RISK_MAX_ORDER_QUANTITY", md=md("tok-small-1")
    )
    assert info.metadata["scope"] == "token small" and info.metadata["limit"] == "5"
    await refused(env, place(AAPL, market(BUY, "101")), "RISK_MAX_ORDER_QUANTITY",
                  md=md("tok-plain-1"), scope="server")  # fmt: skip
    await env.stub.PlaceOrder(place(AAPL, market(BUY, "500")), timeout=10, metadata=md("tok-big-1"))
    assert env.sim.stats.requests["PlaceOrder"] == 1


# --- the kill switch --------------------------------------------------------------------------


async def test_kill_switch_cancels_at_tws_blocks_survives_restart_and_resumes(
    make: Callable[..., Any],
) -> None:
    env = await make()
    ids = [await resting(env), await resting(env, MSFT)]
    await wait_until(lambda: len(env.sim.exchange.open_orders()) == 2, 10, "2 resting at TWS")
    halted = await env.stub.HaltTrading(
        pb.HaltTradingRequest(request_id="halt-1", reason="end of day"), timeout=10
    )
    assert sorted(halted.cancelled_order_ids) == sorted(ids)
    assert halted.kill_switch.engaged and halted.kill_switch.reason == "end of day"
    assert halted.kill_switch.engaged_by == ""  # authentication is off
    assert halted.kill_switch.HasField("engage_time")
    await wait_until(
        lambda: [o.status for o in env.sim_orders()] == ["Cancelled", "Cancelled"],
        10,
        "cancelled at the simulator",
    )
    await refused(env, place(AAPL, market(BUY, "1")), "TRADING_HALTED")
    again = await env.stub.HaltTrading(
        pb.HaltTradingRequest(request_id="halt-1", reason="end of day"), timeout=10
    )
    assert again == halted  # the retry repeats the first answer

    await env.restart_server()
    status = await env.stub.GetStatus(pb.GetStatusRequest(), timeout=10)
    assert status.kill_switch.engaged and status.kill_switch.reason == "end of day"
    assert not status.trading_enabled and "halted" in status.trading_disabled_reason
    await refused(env, place(AAPL, market(BUY, "1")), "TRADING_HALTED")
    assert env.sim.stats.requests["PlaceOrder"] == 2

    resumed = await env.stub.ResumeTrading(
        pb.ResumeTradingRequest(request_id="resume-1"), timeout=10
    )
    assert not resumed.kill_switch.engaged and not resumed.kill_switch.HasField("engage_time")
    status = await env.stub.GetStatus(pb.GetStatusRequest(), timeout=10)
    assert status.trading_enabled and not status.kill_switch.engaged
    await resting(env)
    assert len(env.sim.exchange.open_orders()) == 1


async def test_kill_switch_records_the_admin_token(make: Callable[..., Any]) -> None:
    env = await make(security={"tokens": [token_entry("ops", "tok-admin-1", "admin")]})
    auth = (("authorization", "Bearer tok-admin-1"),)
    halted = await env.stub.HaltTrading(
        pb.HaltTradingRequest(request_id="h", reason="drill"), timeout=10, metadata=auth
    )
    assert halted.kill_switch.engaged_by == "ops"
    status = await env.stub.GetStatus(pb.GetStatusRequest(), timeout=10, metadata=auth)
    assert status.kill_switch.engaged_by == "ops" and "ops" in status.trading_disabled_reason
