"""`ibkr-broker halt` / `resume`, the clients' halt_trading / resume_trading and the adapter,
against the real server and the TWS simulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ibkr_broker.client import (
    AsyncBrokerClient,
    BrokerClient,
    ClientConfig,
    IBKRAdapter,
    TradingHaltedError,
    order_spec,
)
from ibkr_broker.client import cli as client_cli

from .client_env import ThreadedServerEnv, wait_for

pytestmark = [pytest.mark.timeout(90), pytest.mark.usefixtures("tws_era")]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[ThreadedServerEnv]:
    with ThreadedServerEnv(tmp_path) as running:
        yield running


def cli(
    env: ThreadedServerEnv, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    code = client_cli.main([*args, "--target", env.target])
    out, err = capsys.readouterr()
    return code, out, err


def open_at_sim(env: ThreadedServerEnv) -> int:
    return env.call(lambda: len(env.sim.exchange.open_orders()))


def test_cli_halt_and_resume(env: ThreadedServerEnv, capsys: pytest.CaptureFixture[str]) -> None:
    def ok(*args: str) -> str:
        code, out, err = cli(env, capsys, *args)
        assert code == 0 and err == "", err
        return out

    resting = json.loads(ok("sell", "AAPL", "1", "--limit", "9999", "--json"))
    wait_for(lambda: open_at_sim(env) == 1, 10, "resting at TWS")
    halted = json.loads(ok("halt", "--reason", "fat finger", "--json"))
    assert halted["engaged"] and halted["reason"] == "fat finger" and halted["engaged_at"]
    assert halted["cancelled_order_ids"] == [resting["order_id"]]
    wait_for(lambda: open_at_sim(env) == 0, 10, "cancelled at TWS")

    code, out, err = cli(env, capsys, "buy", "AAPL", "1")
    assert code == 1 and out == ""
    assert err.startswith("ibkr-broker buy: error: TRADING_HALTED: trading halted")
    assert err.count("\n") == 1  # one line
    status = json.loads(ok("status", "--json"))
    assert status["kill_switch"]["engaged"] and not status["trading_enabled"]
    assert "fat finger" in ok("status", "--plain")
    assert "halted" in ok("halt", "--plain", "--request-id", "again")

    table = ok("resume", "--plain")
    assert "trading resumed" in table and "engaged" in table
    assert json.loads(ok("status", "--json"))["kill_switch"]["engaged"] is False
    assert json.loads(ok("buy", "AAPL", "1", "--json"))["order_id"]
    code, _, err = cli(env, capsys, "halt", "--reason", "bad\x01text")
    assert code == 1 and "reason" in err


def fast(target: str) -> ClientConfig:
    return ClientConfig(target=target, timeout=10.0, backoff=0.02, max_backoff=0.1)


def test_clients_and_adapter(env: ThreadedServerEnv) -> None:
    with BrokerClient(config=fast(env.target)) as client:
        reply = client.halt_trading("sync", request_id="h-1")
        assert reply.kill_switch.engaged and reply.kill_switch.reason == "sync"
        assert client.halt_trading("sync", request_id="h-1") == reply  # same answer
        with pytest.raises(TradingHaltedError) as caught:
            client.place_order("AAPL", order_spec("buy", 1, "market"))
        assert caught.value.reason == "TRADING_HALTED"
        assert not client.resume_trading().engaged
    with IBKRAdapter({}, client=BrokerClient(config=fast(env.target))) as adapter:
        halted = adapter.halt_trading("adapter")
        assert halted["engaged"] and halted["cancelled_order_ids"] == []
        assert adapter.get_status()["kill_switch"]["reason"] == "adapter"
        assert adapter.resume_trading() == {
            "engaged": False,
            "reason": "",
            "engaged_by": "",
            "engaged_at": None,
        }

    async def with_async() -> Any:
        async with AsyncBrokerClient(config=fast(env.target)) as client:
            halted = await client.halt_trading("async")
            resumed = await client.resume_trading(request_id="r-async")
            return halted.kill_switch.engaged, resumed.engaged

    assert env.run(with_async()) == (True, False)
