"""Interop: every language's SDK examples (Python, Go, TypeScript), run by scripts/run_examples.py
as `make examples` runs them, against the real server and simulator; a wrong address, an order
the server refuses and an order IB refuses surface as clear errors in each language."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from pathlib import Path

import pytest

from tests.integration.server_env import ServerEnv

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "scripts" / "run_examples.py"
LANGUAGES = ("python", "go", "ts")
HEADER = re.compile(r"^== (\w+) (\w+): (ok|failed) \(exit (-?\d+)\)$", re.MULTILINE)
pytestmark = pytest.mark.timeout(300)


async def run_examples(addr: str, go_dir: Path, *args: str) -> tuple[int, dict[str, str]]:
    """The runner's exit status and each example's output by "lang name"."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(RUNNER), "--go-dir", str(go_dir), *args,
        env={**os.environ, "IBKR_BROKER_ADDR": addr},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 280)
    text = out.decode()
    print(text)  # shown when the test fails
    ends = [m.start() for m in re.finditer(r"^== ", text, re.MULTILINE)] + [len(text)]
    sections = {
        f"{m[1]} {m[2]}": text[m.end() : min(e for e in ends if e > m.start())]
        for m in HEADER.finditer(text)
    }
    assert proc.returncode is not None
    return proc.returncode, sections


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_every_languages_examples_trade_against_the_live_server(
    tmp_path: Path, built_sdks: Path
) -> None:
    async with ServerEnv(tmp_path) as env:
        code, out = await run_examples(env.target, built_sdks)
        assert code == 0, "an example failed (its output is above)"
        assert len(out) == 12
        for lang in LANGUAGES:
            assert re.search(r"connection: (CONNECTION_STATE_)?READY", out[f"{lang} status"])
            assert "AAPL: con_id 265598, APPLE INC" in out[f"{lang} resolve"]
            assert "NOSUCH: CONTRACT_NOT_FOUND (IB 200): No security" in out[f"{lang} resolve"]
            order = out[f"{lang} order"]
            assert re.search(r"placed (o\d+): buy 1 AAPL at [\d.]+ .*\ncancelled \1: .*CANCELLED",
                             order), order
            assert (
                "refused: INVALID_ARGUMENT (field order.limit_price): order.limit_price: "
                "100.001 is not a multiple of the minimum tick 0.01 of AAPL"
            ) in order, order
            assert "reason INVALID_ARGUMENT, field order.limit_price, IB code" in order
            assert len(re.findall(r"^#\d+ (AAPL|MSFT) bid \d", out[f"{lang} quotes"], re.M)) >= 5
        by_ref = {o.request.order_ref: o.status for o in env.sim_orders()}
        for prefix in ("ikb:go-example-", "ikb:ts-example-"):
            assert [s for ref, s in by_ref.items() if ref.startswith(prefix)] == ["Cancelled"]


async def test_a_wrong_address_is_a_clear_error_in_every_language(built_sdks: Path) -> None:
    addr = f"127.0.0.1:{closed_port()}"
    code, out = await run_examples(addr, built_sdks, "--only", "status")
    assert code == 1 and sorted(out) == ["go status", "python status", "ts status"]
    for lang in LANGUAGES:
        lines = out[f"{lang} status"].strip().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"error: cannot reach ibkr-broker at {addr}: ")
        assert "unavailable" in lines[0].lower() and "refused" in lines[0].lower()


async def test_an_order_ib_refuses_is_a_clear_error_in_every_language(
    tmp_path: Path, built_sdks: Path
) -> None:
    async with ServerEnv(tmp_path) as env:
        for lang in LANGUAGES:
            env.sim.reject_next_order(f"no buying power for {lang}")
            code, out = await run_examples(env.target, built_sdks, "--lang", lang, "--only=order")
            assert code == 1 and list(out) == [f"{lang} order"]
            last = out[f"{lang} order"].strip().splitlines()[-1]
            assert re.fullmatch(
                rf"error: ORDER_REJECTED \(IB 201\): .*no buying power for {lang}", last
            ), last
        assert not [o for o in env.sim_orders() if "example" in o.request.order_ref]
