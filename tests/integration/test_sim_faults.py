"""Fault injection: drop all, go away and come back, connectivity notices, delay, reject,
the control port and the command line."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import pytest
from ib_async import IB, MarketOrder, Stock
from ibkr_broker.simulator.cli import ctl
from ibkr_broker.simulator.faults import ControlServer
from ibkr_broker.simulator.server import SimulatorServer

from tests.waiting import wait_until as until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def server() -> AsyncIterator[SimulatorServer]:
    s = SimulatorServer(seed=31, tick_interval=0.02)
    await s.start()
    yield s
    await s.stop()


async def connect(port: int, client_id: int = 1) -> IB:
    ib = IB()
    await ib.connectAsync("127.0.0.1", port, clientId=client_id, timeout=5, raiseSyncErrors=True)
    return ib


async def test_drop_all_disconnects_every_client(server: SimulatorServer) -> None:
    a, b = await connect(server.port, 1), await connect(server.port, 2)
    assert server.drop_all() == 2
    await until(lambda: not a.isConnected() and not b.isConnected(), what="both dropped")
    c = await connect(server.port, 1)  # the same client id is free again
    assert c.isConnected()
    c.disconnect()


async def test_go_away_and_come_back_with_the_account_intact(server: SimulatorServer) -> None:
    ib = await connect(server.port)
    [aapl] = await ib.qualifyContractsAsync(Stock("AAPL", "SMART", "USD"))
    trade = ib.placeOrder(aapl, MarketOrder("BUY", 7))
    await until(lambda: trade.orderStatus.status == "Filled", what="filled")
    port = server.port
    await server.go_away(0.5)
    await until(lambda: not ib.isConnected(), what="dropped")
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)
    await asyncio.wait_for(server.listening.wait(), 5)
    assert server.port == port
    ib2 = await connect(port)
    try:
        assert {p.contract.conId: p.position for p in ib2.positions()} == {aapl.conId: 7}
        assert len(ib2.fills()) == 1
    finally:
        ib2.disconnect()


async def test_connectivity_notices(server: SimulatorServer) -> None:
    ib = await connect(server.port)
    codes: list[int] = []
    ib.errorEvent += lambda _req, code, *_: codes.append(code)
    try:
        [aapl] = await ib.qualifyContractsAsync(Stock("AAPL", "SMART", "USD"))
        ticker = ib.reqMktData(aapl)
        await until(lambda: ticker.bid > 0, what="ticks")
        server.notice(1100)
        await until(lambda: 1100 in codes, what="1100")
        sent = server.stats.ticks_sent
        for _ in range(5):
            server.step()
        assert server.stats.ticks_sent == sent  # nothing flows while connectivity is lost
        server.notice(1102)
        await until(lambda: 1102 in codes, what="1102")
        await until(lambda: server.stats.ticks_sent > sent, what="ticks resume")
        server.notice(1101)  # data lost: subscriptions are gone
        await until(lambda: 1101 in codes, what="1101")
        session = server.session(1)
        assert session is not None and session.mkt == {}
        assert ib.isConnected()
    finally:
        ib.disconnect()


async def test_delay_responses(server: SimulatorServer) -> None:
    ib = await connect(server.port)
    try:
        await ib.reqCurrentTimeAsync()
        server.set_delay(300)
        start = time.monotonic()
        await ib.reqCurrentTimeAsync()
        delayed = time.monotonic() - start
        server.set_delay(0)
        assert delayed >= 0.3  # the injected delay is a lower bound, whatever the machine's load
    finally:
        ib.disconnect()


async def test_control_port_commands(server: SimulatorServer) -> None:
    control = ControlServer(server.faults, 0)
    await control.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", control.port)

        async def command(line: str) -> str:
            writer.write(line.encode() + b"\n")
            return (await reader.readline()).decode().strip()

        ib = await connect(server.port)
        assert (await command("status")).startswith(
            f"ok port={server.port} clients=[1] orders=0 executions=0 ticks_sent="
        )
        assert await command("delay 5") == "ok delay 5 ms"
        assert await command("delay 0") == "ok delay 0 ms"
        assert (await command("reject-next")).startswith("ok")
        [spy] = await ib.qualifyContractsAsync(Stock("SPY", "SMART", "USD"))
        trade = ib.placeOrder(spy, MarketOrder("BUY", 1))
        await until(lambda: trade.isDone(), what="rejected")
        assert trade.orderStatus.status == "Cancelled"
        assert await command("notice 1102") == "ok notice 1102"
        assert (await command("bogus")).startswith("error")
        assert (await command("delay x")).startswith("error")
        assert await command("drop") == "ok dropped 1"
        await until(lambda: not ib.isConnected(), what="dropped")
        writer.close()
    finally:
        await control.stop()


def test_command_line_simulator_with_control_port_and_sigusr1() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ibkr_broker.simulator.cli",
            "--port",
            "0",
            "--control-port",
            "0",
            "--seed",
            "4",
            "--tick-interval",
            "0.1",
            "--log-level",
            "WARNING",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(
            r"listening on 127\.0\.0\.1:(\d+) account DU1234567 seed 4 control (\d+)", line
        )
        assert m, line
        port, control_port = int(m.group(1)), int(m.group(2))

        async def scenario() -> None:
            ib = await connect(port)
            assert ib.managedAccounts() == ["DU1234567"]
            assert await asyncio.to_thread(ctl, ["--control-port", str(control_port), "drop"]) == 0
            await until(lambda: not ib.isConnected(), what="ctl drop")
            ib = await connect(port)
            os.kill(proc.pid, signal.SIGUSR1)
            await until(lambda: not ib.isConnected(), what="SIGUSR1 drop")

        asyncio.run(scenario())
        assert ctl(["--control-port", str(control_port), "nonsense"]) == 1
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    assert proc.returncode == 0


async def test_pacing_violation_can_disconnect() -> None:
    server = SimulatorServer(seed=1, tick_interval=0.05, max_msg_rate=20, disconnect_on_pacing=True)
    await server.start()
    try:
        ib = await connect(server.port)
        codes: list[int] = []
        ib.errorEvent += lambda _req, code, *_: codes.append(code)
        for _ in range(30):  # 30 > 20 whichever one-second window they fall in
            ib.client.reqCurrentTime()
        await until(lambda: not ib.isConnected(), what="disconnected for pacing")
        assert 100 in codes
        assert server.stats.pacing_violations == 1
    finally:
        await server.stop()
