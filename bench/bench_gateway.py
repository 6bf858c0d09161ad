"""Gateway benchmarks against the TWS simulator, measured in one run (issue 4).

Usage: python bench/bench_gateway.py [--quick] [--orders N] [--fanout-seconds S]
                                     [--memory-seconds S] [--only place|fanout|memory]

1. PlaceOrder latency, gRPC call to acknowledgement, through the gateway, against the same
   order placed directly with ibapi (openOrder/orderStatus received). Both offered at 40
   orders/s, below the 45 messages/s the gateway's pacing allows, so pacing never queues.
2. Quote fan-out: about 1,000 ticks/s from the simulator to 1, 10 and 100 subscribers of
   StreamQuotes. Latency is the time from the server's session taking in a tick (Quote.
   update_time, stamped by the server) to its arrival at the subscriber. At the end the
   simulator pauses and every subscriber's last quote of every contract must equal the
   server's newest.
3. Memory of the server process (VmRSS) with 100 subscribers of which one never reads,
   sampled every 5 s for 60 s.

The simulator runs in this process on its own thread; the server runs as a subprocess
(`ibkr-broker serve --tws ...`), as in production. Everything is on 127.0.0.1; every loop is
bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
from ibkr_broker.simulator.server import SimulatorThread
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import broker_service_pb2_grpc, common_pb2, contract_pb2, order_pb2

SYMBOLS = ["AAPL", "MSFT", "SPY", "QQQ", "AMZN", "GOOGL", "TSLA", "NVDA", "META", "IWM"]


def stock(symbol: str) -> contract_pb2.Contract:
    return contract_pb2.Contract(security_type=contract_pb2.SECURITY_TYPE_STOCK, symbol=symbol)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


@contextmanager
def server_process(tws_port: int, data_dir: str) -> Any:
    cmd = [sys.executable, "-m", "ibkr_broker", "serve", "--tws", f"127.0.0.1:{tws_port}",
           "--listen", "127.0.0.1:0", "--data-dir", data_dir, "--log-level", "WARNING"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"on (127\.0\.0\.1:\d+)", line)
        if not match:
            raise RuntimeError(f"server did not start: {line!r}")
        target = match.group(1)
        with grpc.insecure_channel(target) as channel:
            stub = broker_service_pb2_grpc.BrokerServiceStub(channel)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                status = stub.GetStatus(pb.GetStatusRequest(), wait_for_ready=True, timeout=5)
                if status.connection_state == common_pb2.CONNECTION_STATE_READY:
                    break
                time.sleep(0.05)  # polling the server's state, bounded by the deadline
            else:
                raise RuntimeError("server never connected to the simulator")
        yield proc, target
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- 1. PlaceOrder latency ----------------------------------------------------------------------


def far_limit_price(stub: Any) -> str:
    quote = stub.GetQuote(pb.GetQuoteRequest(contract=stock("MSFT")), timeout=10).quote
    return str((Decimal(quote.bid) / 2).quantize(Decimal("0.01")))


def gateway_place_latency(target: str, n: int, rate: float) -> list[float]:
    with grpc.insecure_channel(target) as channel:
        stub = broker_service_pb2_grpc.BrokerServiceStub(channel)
        price = far_limit_price(stub)
        spec = order_pb2.OrderSpec(action=common_pb2.ORDER_ACTION_BUY, quantity="1",
                                   order_type=order_pb2.ORDER_TYPE_LIMIT, limit_price=price)
        # warm-up: resolves and caches the contract, opens the HTTP/2 connection
        stub.PlaceOrder(pb.PlaceOrderRequest(request_id=uuid.uuid4().hex,
                                             contract=stock("MSFT"), order=spec), timeout=10)
        time.sleep(1.0)  # let the pacing bucket refill before measuring
        samples = []
        start = time.perf_counter()
        for i in range(n):
            offered = start + i / rate
            delay = offered - time.perf_counter()
            if delay > 0:
                time.sleep(delay)  # offered-load schedule, not a wait for state
            t0 = time.perf_counter()
            stub.PlaceOrder(pb.PlaceOrderRequest(request_id=uuid.uuid4().hex,
                                                 contract=stock("MSFT"), order=spec), timeout=10)
            samples.append((time.perf_counter() - t0) * 1000)
        return samples


def direct_place_latency(sim: SimulatorThread, n: int, rate: float, price: str) -> list[float]:
    from ibapi.client import EClient
    from ibapi.contract import Contract
    from ibapi.order import Order
    from ibapi.wrapper import EWrapper

    class App(EWrapper, EClient):  # type: ignore[misc]
        def __init__(self) -> None:
            EWrapper.__init__(self)
            EClient.__init__(self, self)
            self.next_id = threading.Event()
            self.first_id = 0
            self.acked: dict[int, threading.Event] = {}

        def nextValidId(self, orderId: int) -> None:
            self.first_id = orderId
            self.next_id.set()

        def _ack(self, order_id: int) -> None:
            event = self.acked.get(order_id)
            if event is not None:
                event.set()

        def openOrder(self, orderId: int, contract: Any, order: Any, state: Any) -> None:
            self._ack(orderId)

        def orderStatus(self, orderId: int, *args: Any) -> None:
            self._ack(orderId)

        def error(self, *args: Any) -> None:
            pass

    app = App()
    app.connect("127.0.0.1", sim.port, clientId=9)
    thread = threading.Thread(target=app.run, daemon=True)
    thread.start()
    if not app.next_id.wait(10):
        raise RuntimeError("direct ibapi client got no nextValidId")
    contract = Contract()
    contract.symbol, contract.secType, contract.exchange = "MSFT", "STK", "SMART"
    contract.currency, contract.conId = "USD", 272093
    samples = []
    try:
        time.sleep(1.0)  # the simulator's own pacing window starts empty
        start = time.perf_counter()
        for i in range(n):
            offered = start + i / rate
            delay = offered - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            order = Order()
            order.action, order.orderType, order.totalQuantity = "BUY", "LMT", Decimal(1)
            order.lmtPrice, order.tif = float(price), "DAY"
            order_id = app.first_id + i
            app.acked[order_id] = event = threading.Event()
            t0 = time.perf_counter()
            app.placeOrder(order_id, contract, order)
            if not event.wait(10):
                raise RuntimeError(f"no acknowledgement of direct order {order_id}")
            samples.append((time.perf_counter() - t0) * 1000)
    finally:
        app.disconnect()
        thread.join(5)
    return samples


def grpc_floor(target: str, n: int, rate: float) -> list[float]:
    """GetStatus round trips: what any gRPC call to this server costs, with no TWS work."""
    with grpc.insecure_channel(target) as channel:
        stub = broker_service_pb2_grpc.BrokerServiceStub(channel)
        stub.GetStatus(pb.GetStatusRequest(), timeout=5)
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            stub.GetStatus(pb.GetStatusRequest(), timeout=5)
            samples.append((time.perf_counter() - t0) * 1000)
            time.sleep(1 / rate)
        return samples


def bench_place(sim: SimulatorThread, target: str, n: int) -> dict[str, float]:
    rate = 40.0
    floor = grpc_floor(target, n, rate)
    gw = gateway_place_latency(target, n, rate)
    with grpc.insecure_channel(target) as channel:
        price = far_limit_price(broker_service_pb2_grpc.BrokerServiceStub(channel))
    direct = direct_place_latency(sim, n, rate, price)
    result = {
        "gateway_p50_ms": statistics.median(gw), "gateway_p99_ms": pct(gw, 99),
        "direct_p50_ms": statistics.median(direct), "direct_p99_ms": pct(direct, 99),
    }
    result["p50_ratio"] = result["gateway_p50_ms"] / result["direct_p50_ms"]
    result["grpc_floor_p50_ms"] = statistics.median(floor)
    return result


# --- 2. fan-out -----------------------------------------------------------------------------


class Reader:
    """One StreamQuotes subscriber: latencies and its last quote of each contract."""

    def __init__(self, stub: Any, contracts: list[contract_pb2.Contract], read: bool) -> None:
        self.call = stub.StreamQuotes(pb.StreamQuotesRequest(contracts=contracts))
        self.read = read
        self.latest: dict[int, Any] = {}
        self.latencies: list[float] = []
        self.updates = 0
        self.messages = 0

    async def run(self, stop: asyncio.Event) -> None:
        if not self.read:
            await stop.wait()
            return
        try:
            async for msg in self.call:
                now = time.time()
                self.messages += 1
                if msg.HasField("quotes"):
                    for q in msg.quotes.quotes:
                        self.updates += 1
                        self.latest[q.con_id] = q
                        stamp = q.update_time.seconds + q.update_time.nanos / 1e9
                        self.latencies.append((now - stamp) * 1000)
                if stop.is_set():
                    break
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.CANCELLED:
                raise


async def fanout_round(target: str, sim: SimulatorThread, subscribers: int, seconds: float,
                       check_newest: bool) -> dict[str, float]:
    contracts = [stock(s) for s in SYMBOLS]
    async with grpc.aio.insecure_channel(target) as channel:
        stub = broker_service_pb2_grpc.BrokerServiceStub(channel)
        readers = [Reader(stub, contracts, True) for _ in range(subscribers)]
        stop = asyncio.Event()
        tasks = [asyncio.create_task(r.run(stop)) for r in readers]
        warm_deadline = time.monotonic() + 15
        while any(len(r.latest) < len(contracts) for r in readers):
            if time.monotonic() > warm_deadline:
                raise RuntimeError("subscribers did not receive every contract")
            await asyncio.sleep(0.05)
        for r in readers:
            r.latencies.clear()
            r.updates = 0
        ticks0 = sim.call(lambda: sim.server.stats.ticks_sent)
        t0 = time.monotonic()
        await asyncio.sleep(seconds)  # the measurement window
        elapsed = time.monotonic() - t0
        ticks = sim.call(lambda: sim.server.stats.ticks_sent) - ticks0
        newest_ok = True
        if check_newest:
            sim.call(lambda: sim.server.pause_market())
            await asyncio.sleep(1.0)  # let the last ticks drain through the gateway
            for c in contracts:
                truth = (await stub.GetQuote(pb.GetQuoteRequest(contract=c), timeout=5)).quote
                for r in readers:
                    got = r.latest.get(truth.con_id)
                    if got is None or (got.bid, got.ask, got.last) != (
                            truth.bid, truth.ask, truth.last):
                        newest_ok = False
            sim.call(lambda: sim.server.resume_market())
        stop.set()
        for r in readers:
            r.call.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    lat = [x for r in readers for x in r.latencies]
    return {
        "subscribers": subscribers, "sim_ticks_per_s": ticks / elapsed,
        "updates_per_s_per_subscriber": statistics.mean(r.updates for r in readers) / elapsed,
        "latency_p50_ms": pct(lat, 50), "latency_p99_ms": pct(lat, 99),
        "every_subscriber_has_newest": float(newest_ok),
    }


# --- 3. memory with one stalled reader ------------------------------------------------------


async def memory_round(target: str, pid: int, seconds: float) -> list[tuple[float, float]]:
    contracts = [stock(s) for s in SYMBOLS]
    samples = []
    async with grpc.aio.insecure_channel(target) as reading, grpc.aio.insecure_channel(
            target) as stalled_channel:
        stub = broker_service_pb2_grpc.BrokerServiceStub(reading)
        readers = [Reader(stub, contracts, True) for _ in range(99)]
        stalled = Reader(broker_service_pb2_grpc.BrokerServiceStub(stalled_channel), contracts,
                         False)
        stop = asyncio.Event()
        tasks = [asyncio.create_task(r.run(stop)) for r in [*readers, stalled]]
        t0 = time.monotonic()
        while time.monotonic() - t0 <= seconds:
            samples.append((time.monotonic() - t0, rss_mib(pid)))
            await asyncio.sleep(min(5.0, seconds / 12))
        stop.set()
        for r in [*readers, stalled]:
            r.call.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return samples


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="short run (smoke test of the bench)")
    p.add_argument("--orders", type=int, default=300)
    p.add_argument("--fanout-seconds", type=float, default=10.0)
    p.add_argument("--memory-seconds", type=float, default=60.0)
    p.add_argument("--tick-interval", type=float, default=0.04,
                   help="simulator step; 0.04 s gives about 1,000 ticks/s over 10 stocks")
    p.add_argument("--only", choices=["place", "fanout", "memory"])
    args = p.parse_args()
    if args.quick:
        args.orders, args.fanout_seconds, args.memory_seconds = 40, 2.0, 6.0
    with tempfile.TemporaryDirectory() as tmp, SimulatorThread(
            host="127.0.0.1", port=0, seed=11, tick_interval=args.tick_interval) as sim, \
            server_process(sim.port, os.path.join(tmp, "data")) as (proc, target):
        print(f"gateway {target}, simulator 127.0.0.1:{sim.port}, "
              f"tick interval {args.tick_interval}s")
        if args.only in (None, "place"):
            r = bench_place(sim, target, args.orders)
            print(f"PlaceOrder ({args.orders} orders at 40/s): gateway p50 "
                  f"{r['gateway_p50_ms']:.2f} ms p99 {r['gateway_p99_ms']:.2f} ms | direct "
                  f"ibapi p50 {r['direct_p50_ms']:.2f} ms p99 {r['direct_p99_ms']:.2f} ms | "
                  f"gateway/direct p50 {r['p50_ratio']:.2f}x (target <= 2x) | a bare gRPC "
                  f"round trip (GetStatus) p50 {r['grpc_floor_p50_ms']:.2f} ms")
        if args.only in (None, "fanout"):
            for n in (1, 10, 100):
                r = asyncio.run(fanout_round(target, sim, n, args.fanout_seconds, True))
                print(f"fan-out {n:>3} subscribers: simulator {r['sim_ticks_per_s']:.0f} "
                      f"ticks/s, {r['updates_per_s_per_subscriber']:.0f} quote updates/s "
                      f"per subscriber, latency p50 {r['latency_p50_ms']:.2f} ms p99 "
                      f"{r['latency_p99_ms']:.2f} ms (target <= 20), newest quote everywhere: "
                      f"{'yes' if r['every_subscriber_has_newest'] else 'NO'}")
        if args.only in (None, "memory"):
            samples = asyncio.run(memory_round(target, proc.pid, args.memory_seconds))
            first, last = samples[0][1], samples[-1][1]
            peak = max(m for _, m in samples)
            trail = " ".join(f"{t:.0f}s:{m:.1f}" for t, m in samples)
            print(f"memory, 100 subscribers, 1 never reads, {args.memory_seconds:.0f} s: "
                  f"start {first:.1f} MiB, end {last:.1f} MiB, peak {peak:.1f} MiB, "
                  f"growth {last - first:+.1f} MiB  [{trail}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
