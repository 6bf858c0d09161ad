"""The real client, adapter and CLI against the real gRPC server and the TWS simulator."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest
from ibkr_broker.client import (
    AsyncBrokerClient,
    BrokerClient,
    ContractNotFoundError,
    IBKRAdapter,
    InvalidOrderError,
    OrderRejectedError,
    StreamReconnected,
    order_spec,
    stock,
)
from ibkr_broker.client import cli as client_cli
from ibkr_broker.v1 import order_pb2

from .client_env import ThreadedServerEnv, wait_for
from .client_env import fast_config as fast

pytestmark = [pytest.mark.timeout(90), pytest.mark.usefixtures("tws_era")]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[ThreadedServerEnv]:
    with ThreadedServerEnv(tmp_path) as running:
        yield running


@pytest.fixture
def adapter(env: ThreadedServerEnv) -> Iterator[IBKRAdapter]:
    with IBKRAdapter({}, client=BrokerClient(config=fast(env.target))) as a:
        yield a


def sim_order_count(env: ThreadedServerEnv) -> int:
    return env.call(lambda: len(list(env.sim.exchange.orders())))


def settled(adapter: IBKRAdapter, order_id: str, status: str = "filled") -> dict[str, Any]:
    wait_for(lambda: adapter.get_order(order_id)["status"] == status, 10, f"{order_id} {status}")
    return adapter.get_order(order_id)


# --- the adapter, method by method ----------------------------------------------------------


def test_adapter_account_status_contracts_and_quotes(adapter: IBKRAdapter) -> None:
    assert adapter.auth() is True
    status = adapter.get_status()
    assert status["paper_trading"] and status["accounts"] == ["DU1234567"]
    account = adapter.get_account()
    assert account["account_id"] == "DU1234567" and account["currency"] == "USD"
    assert isinstance(account["cash"], Decimal) and account["buying_power"] > 0
    assert adapter.get_positions() == []
    [aapl] = adapter.resolve_contract("AAPL")
    assert (aapl["con_id"], aapl["long_name"]) == (265598, "APPLE INC")
    with pytest.raises(ContractNotFoundError) as caught:
        adapter.resolve_contract("NOSUCH")
    assert caught.value.ib_code == 200
    chain = adapter.get_option_chain("AAPL")
    assert len(chain["expirations"]) >= 3 and chain["underlying_con_id"] == 265598
    quote = adapter.get_quote("AAPL")
    assert quote["bid"] < quote["ask"] and quote["market_data_type"] == "live"
    expiry, strike = chain["expirations"][0], chain["strikes"][len(chain["strikes"]) // 2]
    option_quote = adapter.get_quote("AAPL", "OPT", lastTradeDate=expiry, strike=strike, right="C")
    assert option_quote["greeks"] is not None and option_quote["greeks"]["delta"] > 0


def test_adapter_stock_orders(env: ThreadedServerEnv, adapter: IBKRAdapter) -> None:
    bought = adapter.buy_stock_market("AAPL", 10)
    assert bought["order_id"] and bought["symbol"] == "AAPL" and bought["side"] == "buy"
    filled = settled(adapter, bought["order_id"])
    assert filled["filled_quantity"] == 10 and filled["avg_fill_price"] > 0
    [position] = adapter.get_positions()
    assert (position["symbol"], position["quantity"], position["sec_type"]) == ("AAPL", 10, "STK")
    assert position["market_value"] is not None and position["avg_price"] > 0
    sold = adapter.sell_stock_market("AAPL", 4)
    settled(adapter, sold["order_id"])
    quote = adapter.get_quote("MSFT")
    far_below = (quote["bid"] / 2).quantize(Decimal("0.01"))
    working = adapter.buy_stock_limit("MSFT", 5, far_below)
    assert (
        working["status"] in ("submitted", "pre_submitted") and working["limit_price"] == far_below
    )
    far_above = (quote["ask"] * 2).quantize(Decimal("0.01"))
    resting = adapter.sell_stock_limit("AAPL", 1, far_above, tif="gtc")
    assert resting["tif"] == "gtc"
    modified = adapter.modify_order(working["order_id"], limit_price=far_below - 1)
    assert modified["limit_price"] == far_below - 1
    open_ids = {o["order_id"] for o in adapter.list_orders("open")}
    assert open_ids == {working["order_id"], resting["order_id"]}
    assert {o["order_id"] for o in adapter.list_orders("filled")} == {
        bought["order_id"], sold["order_id"],
    }  # fmt: skip
    assert adapter.cancel_order(working["order_id"])["status"] in ("cancelled", "pending_cancel")
    settled(adapter, working["order_id"], "cancelled")
    assert adapter.cancel_all_orders() == [resting["order_id"]]
    settled(adapter, resting["order_id"], "cancelled")
    assert adapter.list_orders("open") == []
    assert len(adapter.list_orders("completed")) == 4
    stop = adapter.place_order({"symbol": "AAPL", "quantity": 1, "side": "sell", "type": "stop",
                                "stop_price": far_below})  # fmt: skip
    assert stop["type"] == "stop" and stop["stop_price"] == far_below
    preview = adapter.place_order(
        {"symbol": "SPY", "quantity": 100, "side": "buy", "what_if": True}
    )
    assert preview["what_if"] and preview["preview"]["initial_margin_change"] > 0
    before = sim_order_count(env)
    with pytest.raises(ValueError, match=r"^quantity"):
        adapter.place_order({"symbol": "AAPL", "quantity": 0, "side": "buy"})
    assert sim_order_count(env) == before


def test_adapter_options_and_combo(adapter: IBKRAdapter) -> None:
    chain = adapter.get_option_chain("AAPL")
    expiry = chain["expirations"][0]
    low, high = chain["strikes"][len(chain["strikes"]) // 2 : len(chain["strikes"]) // 2 + 2]
    bought = adapter.buy_option_market("AAPL", expiry, low, "C", 2)
    assert bought["sec_type"] == "OPT"
    settled(adapter, bought["order_id"])
    sold = adapter.sell_option_market("AAPL", expiry, low, "CALL", 1)
    settled(adapter, sold["order_id"])
    option_quote = adapter.get_quote("AAPL", "OPT", lastTradeDate=expiry, strike=low, right="C")
    cheap = max(Decimal("0.01"), (option_quote["bid"] / 4).quantize(Decimal("0.01")))
    resting = adapter.buy_option_limit("AAPL", expiry, low, "C", 1, cheap)
    assert resting["limit_price"] == cheap
    rich = (option_quote["ask"] * 4).quantize(Decimal("0.01"))
    offered = adapter.sell_option_limit("AAPL", expiry, high, "P", 1, rich)
    assert offered["status"] in ("submitted", "pre_submitted")
    positions = {(p["sec_type"], p["right"], p["strike"]): p for p in adapter.get_positions()}
    held = positions[("OPT", "C", low)]
    assert held["quantity"] == 1 and held["multiplier"] == 100
    legs = []
    for strike, action in ((low, "BUY"), (high, "SELL")):
        [match] = adapter.resolve_contract("AAPL", "OPT", lastTradeDate=expiry, strike=strike,
                                           right="C")  # fmt: skip
        legs.append((match["con_id"], 1, action, "SMART"))
    combo = adapter.create_combo_contract("AAPL", legs)
    assert combo["sec_type"] == "BAG" and [leg["con_id"] for leg in combo["legs"]] == [
        leg[0] for leg in legs
    ]
    spread = adapter.place_multi_leg_order(combo, "buy", 2)
    settled(adapter, spread["order_id"])
    assert adapter.get_order(spread["order_id"])["sec_type"] == "BAG"


def test_adapter_combo_by_leg_contract_specs(adapter: IBKRAdapter) -> None:
    chain = adapter.option_chain("AAPL")
    expiry = chain["expirations"][0]
    low, high = chain["strikes"][len(chain["strikes"]) // 2 : len(chain["strikes"]) // 2 + 2]
    spec = {"symbol": "AAPL", "secType": "OPT", "lastTradeDate": expiry, "right": "C"}
    legs = [{**spec, "strike": low, "action": "buy"}, {**spec, "strike": high, "action": "sell"}]
    combo = adapter.create_combo_contract("AAPL", legs)
    spread = adapter.place_multi_leg_order(combo, "buy", 1)
    settled(adapter, spread["order_id"])
    resolved = [
        adapter.resolve_contract("AAPL", "OPT", lastTradeDate=expiry, strike=k, right="C")[0]
        for k in (low, high)
    ]
    placed = adapter.get_order(spread["order_id"])["contract"]
    assert placed["sec_type"] == "BAG" and [leg["con_id"] for leg in placed["legs"]] == [
        match["con_id"] for match in resolved
    ]
    with pytest.raises(InvalidOrderError) as caught:
        adapter.place_multi_leg_order(
            adapter.create_combo_contract("AAPL", [legs[0], {**legs[1], "strike": "1.5"}]), "buy", 1
        )
    assert caught.value.field == "contract.combo_legs[1].contract"


def test_adapter_rejection_carries_ib_code(env: ThreadedServerEnv, adapter: IBKRAdapter) -> None:
    env.call(lambda: env.sim.reject_next_order("no buying power"))
    with pytest.raises(OrderRejectedError) as caught:
        adapter.buy_stock_market("AAPL", 1)
    assert caught.value.ib_code == 201 and caught.value.request_id


def test_adapter_stream_quotes(adapter: IBKRAdapter) -> None:
    stream = adapter.stream_quotes(["AAPL", "MSFT"])
    seen: dict[str, dict[str, Any]] = {}
    for item in stream:
        if item["type"] == "quote":
            seen[item["symbol"]] = item
        if len(seen) == 2:
            break
    stream.close()  # type: ignore[attr-defined]
    assert seen["AAPL"]["bid"] > 0 and seen["MSFT"]["con_id"] == 272093


# --- retries and reconnects against the real server -----------------------------------------


class LoseFirstResponse:
    """The call reaches the server, then the client 'loses' the answer as UNAVAILABLE."""

    def __init__(self, rpc: Any) -> None:
        self.rpc = rpc
        self.lost = 0

    async def __call__(self, request: Any, **kwargs: Any) -> Any:
        response = await self.rpc(request, **kwargs)
        if self.lost == 0:
            self.lost += 1
            raise _Unavailable()
        return response


class _Unavailable(grpc.RpcError):
    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE

    def details(self) -> str:
        return "connection reset after the request was sent"

    def trailing_metadata(self) -> tuple[()]:
        return ()


def test_a_lost_response_is_retried_with_the_same_request_id_and_places_one_order(
    env: ThreadedServerEnv,
) -> None:
    with BrokerClient(config=fast(env.target)) as client:
        stub = client._core._stub  # the blocking client runs the async core's calls
        lossy = LoseFirstResponse(stub.PlaceOrder)
        stub.PlaceOrder = lossy
        before = sim_order_count(env)
        response = client.place_order(stock("AAPL"), order_spec("buy", 3))
        assert lossy.lost == 1
        assert sim_order_count(env) == before + 1
        orders = client.list_orders()
        assert [o.order_id for o in orders] == [response.order.order_id]


def test_order_events_resume_across_a_reset_connection_without_loss_or_duplicates(
    env: ThreadedServerEnv, adapter: IBKRAdapter
) -> None:
    with BrokerClient(config=fast(env.proxy_target)) as client:
        stream = client.order_events()
        # The first message (a heartbeat here) shows the server follows the journal for us.
        assert not isinstance(next(stream), StreamReconnected)
        first = adapter.buy_stock_market("AAPL", 1)
        sequences: list[int] = []
        markers: list[StreamReconnected] = []

        def read_until(order_id: str) -> None:
            for item in stream:
                if isinstance(item, StreamReconnected):
                    markers.append(item)
                elif item.HasField("event"):
                    sequences.append(item.sequence)
                    event = item.event
                    if (
                        event.order.order_id == order_id
                        and event.type == order_pb2.ORDER_EVENT_TYPE_COMMISSION
                    ):
                        return

        read_until(first["order_id"])
        last_before_cut = sequences[-1]
        assert env.cut_connections() >= 1
        # Events that happen while the client is cut off must arrive after the resume.
        second = adapter.buy_stock_market("AAPL", 2)
        settled(adapter, second["order_id"])
        read_until(second["order_id"])
        stream.close()
    assert len(markers) == 1 and markers[0].resume_after_sequence == last_before_cut
    assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))


def test_quote_stream_reopens_after_a_reset_connection(env: ThreadedServerEnv) -> None:
    with BrokerClient(config=fast(env.proxy_target)) as client:
        stream = client.stream_quotes(["AAPL"])
        kinds: list[str] = []
        for item in stream:
            if isinstance(item, StreamReconnected):
                kinds.append("reconnected")
            elif item.HasField("quotes"):
                kinds.append("quotes")
                if kinds.count("quotes") == 1:
                    env.cut_connections()
                elif "reconnected" in kinds:
                    break
        stream.close()
    assert kinds[0] == "quotes" and kinds.count("reconnected") == 1 and kinds[-1] == "quotes"


async def test_async_client(tmp_path: Path) -> None:
    from .server_env import ServerEnv

    async with ServerEnv(tmp_path) as env:
        assert env.app is not None
        async with AsyncBrokerClient(config=fast(f"127.0.0.1:{env.app.port}")) as client:
            assert (await client.status()).trading_enabled
            events = client.order_events()
            assert not isinstance(await events.__anext__(), StreamReconnected)  # following now
            placed = await client.place_order("AAPL", order_spec("buy", 1))
            async for item in events:
                if isinstance(item, StreamReconnected) or not item.HasField("event"):
                    continue
                if item.event.type == order_pb2.ORDER_EVENT_TYPE_FILL:
                    assert item.event.order.order_id == placed.order.order_id
                    break
            await events.aclose()
            assert (await client.get_order(placed.order.order_id)).filled_quantity == "1"
            with pytest.raises(ContractNotFoundError):
                await client.quote("NOSUCH")


# --- every CLI subcommand -------------------------------------------------------------------


def run_cli(env: ThreadedServerEnv, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code = client_cli.main([*args, "--target", env.target])
    out, err = capsys.readouterr()
    return code, out, err


def test_every_cli_subcommand(env: ThreadedServerEnv, capsys: pytest.CaptureFixture[str]) -> None:
    def ok(*args: str) -> str:
        code, out, err = run_cli(env, capsys, *args)
        assert code == 0, err
        assert err == ""
        return out

    def data(*args: str) -> Any:
        return json.loads(ok(*args, "--json"))

    assert "ready" in ok("status") and data("status")["connection_state"] == "ready"
    assert "APPLE INC" in ok("contract", "AAPL", "--plain")
    assert data("contract", "AAPL")[0]["con_id"] == 265598
    chain = data("chain", "AAPL")
    assert "SMART" in ok("chain", "AAPL") and chain["expirations"]
    quotes = [json.loads(line) for line in ok("quotes", "AAPL", "MSFT", "--count", "3",
                                              "--json").splitlines()]  # fmt: skip
    assert [q["type"] for q in quotes].count("quote") == 3
    assert "MSFT" in ok("quotes", "AAPL", "MSFT", "--count", "2")
    assert "DU1234567" in ok("account") and data("account")[0]["cash"]
    bought = data("buy", "AAPL", "10")
    wait_for(lambda: data("orders", "--completed") != [], 10, "market order filled")
    positions = data("positions")
    assert positions[0]["symbol"] == "AAPL" and "AAPL" in ok("positions")
    ask = Decimal(data("contract", "AAPL")[0]["min_tick"])  # a price no one will fill at
    resting = data("sell", "AAPL", "1", "--limit", "9999", "--tif", "gtc")
    assert resting["status"] in ("submitted", "pre_submitted") and ask > 0
    assert "limit" in ok("buy", "AAPL", "1", "--limit", "1", "--plain")
    assert data("sell", "AAPL", "1", "--stop", "1")["type"] == "stop"
    assert "what-if" in ok("buy", "SPY", "100", "--what-if")
    expiry, strikes = chain["expirations"][0], chain["strikes"]
    option = data("buy", "AAPL", "1", "--option", "--expiry", expiry, "--strike",
                  strikes[len(strikes) // 2], "--right", "C")  # fmt: skip
    assert option["sec_type"] == "OPT"
    open_orders = data("orders", "--open")
    assert resting["order_id"] in {o["order_id"] for o in open_orders}
    assert bought["order_id"] in ok("orders")
    assert f"order {resting['order_id']} cancelled" in ok("cancel", resting["order_id"])
    code, _, err = run_cli(env, capsys, "buy", "NOSUCH", "1")
    assert code == 1 and err.count("\n") == 1 and "CONTRACT_NOT_FOUND" in err
    env.call(lambda: env.sim.reject_next_order("no buying power"))
    code, _, err = run_cli(env, capsys, "buy", "AAPL", "1")
    assert code == 1 and "ORDER_REJECTED (IB 201)" in err and err.count("\n") == 1
    code, _, err = run_cli(env, capsys, "buy", "AAPL", "-1")
    assert code == 2 and err.count("\n") == 1


def test_console_script(env: ThreadedServerEnv) -> None:
    script = Path(sys.executable).parent / "ibkr-broker"
    result = subprocess.run(
        [str(script), "status", "--target", env.target, "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["connection_state"] == "ready"
