"""How many market-data messages per second the TWS simulator sustains to one client.

Runs the simulator in a subprocess (``python -m ibkr_broker.simulator.cli`` on a free loopback
port, fast mode: a market step every millisecond), subscribes one client to every stock of the
universe and counts the tick messages it decodes for a fixed time. Once for the official ibapi
client (EReader thread + EClient.run thread) and once for ib_async's IB, each with and without
the simulator's per-client tick-rate cap (which keeps ibapi's reader from drowning, see
tws-protocol.md section 6).

    .venv/bin/python bench/bench_sim_ticks.py [--seconds 5] [--tick-interval 0.001]

Prints one line per run: offered = messages the simulator sent per second, received = tick
callbacks per second the client processed.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

SYMBOLS = ("AAPL", "MSFT", "SPY", "QQQ", "AMZN", "GOOGL", "TSLA", "NVDA", "META", "IWM", "JPM",
           "XOM")


@contextmanager
def simulator(tick_interval: float, max_tick_rate: int) -> Iterator[tuple[int, int]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ibkr_broker.simulator.cli", "--port", "0", "--control-port", "0",
         "--tick-interval", str(tick_interval), "--max-tick-rate", str(max_tick_rate),
         "--max-msg-rate", "0", "--log-level", "WARNING"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        m = re.search(r"listening on [\d.]+:(\d+) .* control (\d+)", line)
        if not m:
            raise RuntimeError(f"simulator did not start: {line!r}")
        yield int(m.group(1)), int(m.group(2))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def ticks_sent(control_port: int) -> int:
    with socket.create_connection(("127.0.0.1", control_port), timeout=5) as sock:
        sock.sendall(b"status\n")
        answer = sock.makefile("rb").readline().decode()
    m = re.search(r"ticks_sent=(\d+)", answer)
    return int(m.group(1)) if m else 0


def bench_ibapi(port: int, control_port: int, seconds: float) -> tuple[float, float]:
    from ibapi.client import EClient
    from ibapi.contract import Contract
    from ibapi.wrapper import EWrapper

    class Counter(EWrapper, EClient):
        def __init__(self) -> None:
            EWrapper.__init__(self)
            EClient.__init__(self, self)
            self.count = 0
            self.ready = threading.Event()

        def nextValidId(self, orderId: int) -> None:
            self.ready.set()

        def tickPrice(self, *args: object) -> None:
            self.count += 1

        def tickSize(self, req_id: int, tick_type: int, size: object) -> None:
            if tick_type not in (0, 3, 5, 69, 70, 71):  # not the echo of a tickPrice's size
                self.count += 1

        def tickString(self, *args: object) -> None:
            self.count += 1

        def error(self, *args: object) -> None:
            pass

    app = Counter()
    app.connect("127.0.0.1", port, 1)
    thread = threading.Thread(target=app.run, daemon=True)
    thread.start()
    app.ready.wait(10)
    for i, sym in enumerate(SYMBOLS):
        c = Contract()
        c.symbol, c.secType, c.exchange, c.currency = sym, "STK", "SMART", "USD"
        app.reqMktData(i + 1, c, "", False, False, [])
    time.sleep(1.0)  # warm up
    c0, s0, t0 = app.count, ticks_sent(control_port), time.monotonic()
    time.sleep(seconds)
    c1, s1, t1 = app.count, ticks_sent(control_port), time.monotonic()
    app.disconnect()
    thread.join(timeout=5)
    return (s1 - s0) / (t1 - t0), (c1 - c0) / (t1 - t0)


def bench_ib_async(port: int, control_port: int, seconds: float) -> tuple[float, float]:
    from ib_async import IB, Stock

    async def run() -> tuple[float, float]:
        ib = IB()
        await ib.connectAsync("127.0.0.1", port, clientId=2, timeout=10)
        contracts = [Stock(s, "SMART", "USD") for s in SYMBOLS]
        await ib.qualifyContractsAsync(*contracts)
        for c in contracts:
            ib.reqMktData(c)
        await asyncio.sleep(1.0)
        client = ib.client
        c0, s0, t0 = client._numMsgRecv, ticks_sent(control_port), time.monotonic()
        await asyncio.sleep(seconds)
        c1, s1, t1 = client._numMsgRecv, ticks_sent(control_port), time.monotonic()
        ib.disconnect()
        return (s1 - s0) / (t1 - t0), (c1 - c0) / (t1 - t0)

    return asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--tick-interval", type=float, default=0.001)
    p.add_argument("--caps", default="0,30000", help="per-client tick caps to try (0 = none)")
    args = p.parse_args(argv)
    print(f"simulator fast mode: step every {args.tick_interval * 1000:g} ms, "
          f"{len(SYMBOLS)} subscriptions, {args.seconds:g} s per run (loopback)")
    for cap in (int(c) for c in args.caps.split(",")):
        for name, fn in (("ibapi", bench_ibapi), ("ib_async", bench_ib_async)):
            with simulator(args.tick_interval, cap) as (port, control):
                offered, received = fn(port, control, args.seconds)
            cap_text = f"cap {cap}/s" if cap else "no cap"
            print(f"{name:9s} {cap_text:13s} offered {offered:9,.0f} msg/s   "
                  f"received {received:9,.0f} ticks/s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
