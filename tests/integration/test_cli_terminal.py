"""The CLI in a terminal of 80 and of 200 columns, against the real server and simulator:
tables fit and never split a number or an id; cancel says what happened; modify, order, quote,
combo and chain do what users do next; serve's banner is a command one can paste."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ibkr_broker.client import cli as client_cli

from .client_env import ThreadedServerEnv, wait_for

pytestmark = [pytest.mark.timeout(90), pytest.mark.usefixtures("tws_era")]
STYLES = ("--plain", "--rich")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServerEnv]:
    with ThreadedServerEnv(tmp_path_factory.mktemp("cli")) as running:
        yield running


class Cli:
    def __init__(self, env: ThreadedServerEnv, capsys: pytest.CaptureFixture[str],
                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
        self.env, self.capsys, self.monkeypatch = env, capsys, monkeypatch

    def run(self, *args: str, columns: int = 200) -> tuple[int, str, str]:
        self.monkeypatch.setenv("COLUMNS", str(columns))
        style = [a for a in args if a != "--rich"]  # rich is the default when installed
        code = client_cli.main([*style, "--target", self.env.target])
        out, err = self.capsys.readouterr()
        return code, out, err

    def ok(self, *args: str, columns: int = 200) -> str:
        code, out, err = self.run(*args, columns=columns)
        assert code == 0 and err == "", err
        return out

    def data(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))


@pytest.fixture
def cli(env: ThreadedServerEnv, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> Cli:  # fmt: skip
    return Cli(env, capsys, monkeypatch)


def assert_fits(text: str, columns: int) -> None:
    too_long = [line for line in text.splitlines() if len(line) > columns]
    assert not too_long, f"wider than {columns}: {too_long}"


def assert_whole(text: str, *values: object) -> None:
    """Each value appears unbroken (not split across lines) in the output."""
    for value in values:
        assert str(value) in text, f"{value!r} not shown whole in:\n{text}"


def place_filled(cli: Cli, symbol: str = "AAPL", qty: str = "7") -> dict[str, Any]:
    order = cli.data("buy", symbol, qty)
    wait_for(lambda: cli.data("order", order["order_id"])["status"] == "filled", 10, "filled")
    return dict(cli.data("order", order["order_id"]))


@pytest.mark.parametrize("style", STYLES)
def test_positions_and_orders_fit_80_columns_and_show_all_at_200(cli: Cli, style: str) -> None:
    place_filled(cli)
    [position] = [p for p in cli.data("positions") if p["symbol"] == "AAPL"]
    narrow = cli.ok("positions", style, columns=80)
    assert_fits(narrow, 80)
    assert_whole(narrow, "AAPL", position["quantity"], position["market_value"],
                 position["unrealized_pnl"])  # fmt: skip
    assert "not shown at this width: account_id" in " ".join(narrow.split())
    wide = cli.ok("positions", style, columns=200)
    assert_fits(wide, 200)
    assert "not shown" not in wide
    assert_whole(wide, position["account_id"], position["avg_price"], position["market_price"])
    orders = cli.data("orders")
    narrow_orders = cli.ok("orders", style, columns=80)
    assert_fits(narrow_orders, 80)
    assert_whole(narrow_orders, *(o["order_id"] for o in orders))
    assert_whole(cli.ok("orders", style, columns=200), *(o["created_at"][:10] for o in orders))


@pytest.mark.parametrize("columns", [80, 200])
def test_chain_lists_every_expiry_and_strike(cli: Cli, columns: int) -> None:
    chain = cli.data("chain", "AAPL")
    text = cli.ok("chain", "AAPL", columns=columns)
    assert_fits(text, columns)
    words = set(text.split())
    assert set(chain["expirations"]) <= words
    assert {str(s) for s in chain["strikes"]} <= words


def test_cancel_of_a_filled_order_fails_and_a_working_one_reads_as_success(cli: Cli) -> None:
    filled = place_filled(cli, qty="1")
    code, out, err = cli.run("cancel", filled["order_id"])
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "ORDER_NOT_CANCELLABLE" in err and "filled: it cannot be cancelled" in err
    working = cli.data("buy", "AAPL", "1", "--limit", "1")
    text = cli.ok("cancel", working["order_id"], columns=80)
    assert text.splitlines()[0].strip() == f"order {working['order_id']} cancelled"
    assert "error" not in text and "Order Canceled" not in text
    assert_fits(text, 80)


def test_modify_then_show_one_order_with_its_fills(cli: Cli) -> None:
    working = cli.data("sell", "AAPL", "2", "--limit", "9999")
    text = cli.ok("modify", working["order_id"], "--limit", "9998.5", "--quantity", "3")
    assert f"order {working['order_id']} modified" in text
    shown = cli.data("order", working["order_id"])
    assert (shown["limit_price"], shown["quantity"]) == ("9998.5", "3")
    code, _, err = cli.run("modify", working["order_id"])
    assert code == 2 and "nothing to change" in err
    filled = place_filled(cli, qty="4")
    [fill] = filled["executions"]
    for columns in (80, 200):
        text = cli.ok("order", filled["order_id"], columns=columns)
        assert_fits(text, columns)
        assert_whole(text, filled["order_id"], fill["execution_id"], fill["price"], "1 fill(s)")


@pytest.mark.parametrize("columns", [80, 200])
def test_quote_snapshot(cli: Cli, columns: int) -> None:
    quote = cli.data("quote", "AAPL")
    assert quote["symbol"] == "AAPL" and quote["bid"] and quote["ask"]
    text = cli.ok("quote", "AAPL", columns=columns)
    assert_fits(text, columns)
    assert "quote of AAPL" in text and "bid" in text and "ask" in text


def test_combo_order_of_two_option_legs(cli: Cli) -> None:
    chain = cli.data("chain", "AAPL")
    expiry, strikes = chain["expirations"][0], chain["strikes"]
    low, high = strikes[len(strikes) // 2], strikes[len(strikes) // 2 + 1]
    legs = ["--leg", f"buy:1:C:{expiry}:{low}", "--leg", f"sell:1:C:{expiry}:{high}"]
    order = cli.data("combo", "buy", "AAPL", "2", *legs)
    assert order["sec_type"] == "BAG" and len(order["contract"]["legs"]) == 2
    wait_for(lambda: cli.data("order", order["order_id"])["status"] == "filled", 10, "filled")
    code, _, err = cli.run("combo", "buy", "AAPL", "1", "--leg", "buy:1:STK")
    assert code == 2 and "at least two --leg" in err
    code, _, err = cli.run("combo", "buy", "AAPL", "1", "--leg", "buy:x:STK", "--leg", "sell:1:1")
    assert code == 2 and "ACTION:RATIO" in err


def test_serve_banner_shows_a_command_that_runs_as_pasted(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ibkr_broker", "serve", "--sim", "--listen", "127.0.0.1:0",
         "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "COLUMNS"},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        banner = [proc.stdout.readline() for _ in range(4)]
        [command] = [line.strip() for line in banner if re.search(r"status --target", line)]
        assert "(" not in command and "Ctrl-C" not in command  # nothing to trim by hand
        result = subprocess.run(
            [*shlex.split(command), "--json", "--timeout", "20"], cwd=tmp_path,
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "connection_state" in json.loads(result.stdout)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
