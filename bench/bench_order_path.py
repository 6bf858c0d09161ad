"""The order path under quote load and with a growing book (issue 13), measured in one run.

Usage: python bench/bench_order_path.py [--quick] [--only loaded|store|saturation|memory|storm]
                                        [--before DIR] [--readers python|go] [--quote-interval S]

1. loaded:     PlaceOrder p50/p99 (resting limit orders at 20/s) with no stream, then with 100
               StreamQuotes subscribers of 10 stocks, the simulator at ~1,000 ticks/s.
               Target: loaded p99 <= 1.5x idle p99.
2. store:      PlaceOrder p50 with 100 and with 5,000 orders already in the store (filled in
               SQLite before the server starts: a bench-only way). Target: ratio <= 1.1.
3. saturation: quote deliveries/s and tick-to-subscriber p99 with 10, 100 and 500 subscribers,
               the simulator offering ~10,000 ticks/s. Target: >= 150,000/s with p99 <= 20 ms
               at 100 subscribers.
4. memory:     server VmRSS before and after 1,000 idle streams (market paused). Target:
               <= 50 KB per stream.
5. storm:      100 streams opened at once for 10 contracts on a fresh server: time until every
               stream has a quote, contract lookups at TWS, PlaceOrder p99 meanwhile.

The ingest flood and PlaceOrder against direct ibapi / a bare gRPC call are bench_ingest.py and
bench_gateway.py --only place. Subscribers run in a process of their own (quote_readers.py, or
its Go twin with --readers go: readers.py);
the simulator runs in this process; the server is `ibkr-broker serve` in a subprocess. With
--before DIR (a tree made by bench/source_tree.sh) every figure is also measured, in the same
run, for the server code in DIR. Loopback only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import readers as reader_programs
from bench_gateway import far_limit_price, pct, rss_mib, server_process, stock
from ibkr_broker.simulator.server import SimulatorThread
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import broker_service_pb2_grpc, common_pb2, order_pb2


def load() -> str:
    return os.getloadavg().__repr__() if hasattr(os, "getloadavg") else "?"


@contextmanager
def server(sim: SimulatorThread, data_dir: str, source: str | None) -> Any:
    """The server as a subprocess, from the installed code or from the tree `source`."""
    old = os.environ.get("PYTHONPATH")
    if source:
        os.environ["PYTHONPATH"] = source  # ahead of the editable install's finder
    try:
        with server_process(sim.port, data_dir) as (proc, target):
            yield proc, target
    finally:
        if source:
            if old is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = old


class NotReady(Exception):
    """The streams did not all have a quote of every contract in time."""


class Readers:
    """A quote-reader process of `kind` (readers.py): `ready` (seconds) and, at the end, the
    figures."""

    def __init__(self, kind: str, target: str, n: int, seconds: float,
                 ready_limit: float = 60.0) -> None:
        self.proc = subprocess.Popen(
            reader_programs.command(kind, target, n, seconds, "--ready-limit", str(ready_limit)),
            stdout=subprocess.PIPE, text=True)

    def line(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        text = self.proc.stdout.readline()
        if not text:
            raise RuntimeError("quote readers ended early")
        data: dict[str, Any] = json.loads(text)
        if "error" in data:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            raise NotReady(data["error"])
        return data

    def finish(self) -> dict[str, Any]:
        data = self.line()
        self.proc.wait(timeout=60)
        return data


def order_spec(price: str) -> order_pb2.OrderSpec:
    return order_pb2.OrderSpec(action=common_pb2.ORDER_ACTION_BUY, quantity="1",
                               order_type=order_pb2.ORDER_TYPE_LIMIT, limit_price=price)


def place_orders(stub: Any, price: str, n: int, rate: float,
                 stop: threading.Event | None = None) -> list[float]:
    """n resting limit orders offered at `rate`/s; latency of each in ms."""
    spec, samples = order_spec(price), []
    start = time.perf_counter()
    for i in range(n):
        if stop is not None and stop.is_set():
            break
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)  # offered-load schedule, not a wait for state
        t0 = time.perf_counter()
        stub.PlaceOrder(pb.PlaceOrderRequest(request_id=uuid.uuid4().hex,
                                             contract=stock("MSFT"), order=spec), timeout=10)
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def warm(stub: Any) -> str:
    price = far_limit_price(stub)
    place_orders(stub, price, 3, 20.0)
    return price


# --- 1. loaded --------------------------------------------------------------------------------


def bench_loaded(sim: SimulatorThread, target: str, n: int, kind: str) -> dict[str, float]:
    with grpc.insecure_channel(target) as channel:
        stub = broker_service_pb2_grpc.BrokerServiceStub(channel)
        price = warm(stub)
        idle = place_orders(stub, price, n, 20.0)
        readers = Readers(kind, target, 100, n / 20.0 + 30, ready_limit=180)
        readers.line()  # every stream has quotes
        loaded = place_orders(stub, price, n, 20.0)
        readers.proc.terminate()
        readers.proc.wait(timeout=30)
    return {"idle_p50": statistics.median(idle), "idle_p99": pct(idle, 99),
            "loaded_p50": statistics.median(loaded), "loaded_p99": pct(loaded, 99),
            "p99_ratio": pct(loaded, 99) / pct(idle, 99)}


# --- 2. store ---------------------------------------------------------------------------------


def fill_store(data_dir: str, count: int) -> None:
    """Write `count` filled orders into the server's SQLite store before it starts."""
    from ibkr_broker.server.domain.model import (
        Contract,
        Order,
        OrderAction,
        OrderSpec,
        OrderStatus,
        OrderType,
        SecurityType,
    )
    from ibkr_broker.server.session.store import Store

    Path(data_dir).mkdir(parents=True, exist_ok=True)
    store = Store(Path(data_dir) / "broker.sqlite3")
    contract = Contract(con_id=272093, security_type=SecurityType.STOCK, symbol="MSFT",
                        exchange="SMART", currency="USD")
    spec = OrderSpec(OrderAction.BUY, Decimal(1), OrderType.LIMIT, limit_price=Decimal("1.00"))
    when = datetime(2026, 1, 2, tzinfo=UTC)
    with store.transaction():
        for i in range(count):
            request_id = f"fill-{i}"
            order_id = store.new_order_id(request_id)
            store.save_order(Order(order_id, request_id, contract, spec, "DU1234567",
                                   OrderStatus.FILLED, when, when, Decimal(1), Decimal("1.00")))
    store.close()


def bench_store(sim: SimulatorThread, tmp: str, n: int, source: str | None,
                sizes: tuple[int, int]) -> dict[str, float]:
    result = {}
    for size in sizes:
        data_dir = os.path.join(tmp, f"store-{size}-{uuid.uuid4().hex[:6]}")
        fill_store(data_dir, size)
        with server(sim, data_dir, source) as (_proc, target), \
                grpc.insecure_channel(target) as channel:
            stub = broker_service_pb2_grpc.BrokerServiceStub(channel)
            price = warm(stub)
            samples = place_orders(stub, price, n, 20.0)
            result[f"p50_{size}"] = statistics.median(samples)
    result["ratio"] = result[f"p50_{sizes[1]}"] / result[f"p50_{sizes[0]}"]
    return result


# --- 3. saturation ----------------------------------------------------------------------------


def bench_saturation(sim: SimulatorThread, target: str, counts: list[int],
                     seconds: float, kind: str) -> list[dict[str, float]]:
    rows = []
    for n in counts:
        readers = Readers(kind, target, n, seconds, ready_limit=240)
        try:
            ready = readers.line()["ready"]
        except NotReady as exc:
            print(f"  {n} subscribers: not measured: {exc}", flush=True)
            continue
        ticks0 = sim.call(lambda: sim.server.stats.ticks_sent)
        t0 = time.monotonic()
        figures = readers.finish()
        ticks = (sim.call(lambda: sim.server.stats.ticks_sent) - ticks0) / (time.monotonic() - t0)
        rows.append({"subscribers": n, "ready_s": ready, "ticks_per_s": ticks,
                     "deliveries_per_s": figures["deliveries"] / figures["seconds"],
                     "p50_ms": figures["p50_ms"], "p99_ms": figures["p99_ms"]})
    return rows


# --- 4. memory --------------------------------------------------------------------------------


def bench_memory(sim: SimulatorThread, pid: int, target: str, n: int,
                 kind: str) -> dict[str, float]:
    sim.call(lambda: sim.server.pause_market())
    try:
        time.sleep(1.0)  # settle before the first sample
        before = rss_mib(pid)
        readers = Readers(kind, target, n, 3.0, ready_limit=240)
        readers.line()  # every stream open and holding a quote of every contract
        time.sleep(2.0)  # idle streams: nothing moves; sample after the set-up's garbage
        after = rss_mib(pid)
        readers.finish()
    finally:
        sim.call(lambda: sim.server.resume_market())
    return {"before_mib": before, "after_mib": after,
            "kb_per_stream": (after - before) * 1024 / n}


# --- 5. storm ---------------------------------------------------------------------------------


def bench_storm(sim: SimulatorThread, tmp: str, source: str | None, n: int,
                kind: str) -> dict[str, float]:
    data_dir = os.path.join(tmp, f"storm-{uuid.uuid4().hex[:6]}")
    with server(sim, data_dir, source) as (_proc, target), \
            grpc.insecure_channel(target) as channel:
        stub = broker_service_pb2_grpc.BrokerServiceStub(channel)
        price = far_limit_price(stub)  # resolves MSFT only; the other 9 stocks are new
        lookups0 = sum(v for k, v in sim.call(lambda: dict(sim.server.stats.requests)).items()
                       if "ContractDetails" in k)
        stop = threading.Event()
        samples: list[float] = []
        placer = threading.Thread(
            target=lambda: samples.extend(place_orders(stub, price, 1200, 20.0, stop)))
        placer.start()
        time.sleep(1.0)  # orders flowing before the storm
        before_storm = len(samples)
        readers = Readers(kind, target, n, 1.0, ready_limit=120)
        ready = readers.line()["ready"]
        stop.set()
        placer.join(30)
        readers.finish()
        lookups = sum(v for k, v in sim.call(lambda: dict(sim.server.stats.requests)).items()
                      if "ContractDetails" in k) - lookups0
    during = samples[before_storm:]
    return {"ready_s": ready, "lookups": lookups, "orders_during": len(during),
            "p50_during": statistics.median(during) if during else float("nan"),
            "p99_during": pct(during, 99), "max_during": max(during) if during else float("nan")}


def set_tick_interval(sim: SimulatorThread, interval: float) -> None:
    """The simulator's market step (its market clock restarts to take it)."""

    def change() -> None:
        sim.server.pause_market()
        sim.server.config.tick_interval = interval
        sim.server.resume_market()

    sim.call(change)


def run_all(args: Any, sim: SimulatorThread, tmp: str, label: str, source: str | None) -> None:
    quick = args.quick
    n = 60 if quick else 300
    if args.only in (None, "loaded"):
        with server(sim, os.path.join(tmp, f"loaded-{label}"), source) as (_proc, target):
            r = bench_loaded(sim, target, n, args.readers)
        print(f"[{label}] PlaceOrder {n} at 20/s: idle p50 {r['idle_p50']:.2f} ms p99 "
              f"{r['idle_p99']:.2f} ms | 100 subscribers p50 {r['loaded_p50']:.2f} ms "
              f"p99 {r['loaded_p99']:.2f} ms | loaded/idle p99 {r['p99_ratio']:.2f}x "
              f"(target <= 1.5) | load {load()}", flush=True)
    if args.only in (None, "memory"):
        with server(sim, os.path.join(tmp, f"memory-{label}"), source) as (proc, target):
            r = bench_memory(sim, proc.pid, target, 200 if quick else 1000, args.readers)
        print(f"[{label}] memory: {r['before_mib']:.1f} -> {r['after_mib']:.1f} MiB, "
              f"{r['kb_per_stream']:.1f} KB per idle stream (target <= 50) | load "
              f"{load()}", flush=True)
    if args.only in (None, "saturation"):
        with server(sim, os.path.join(tmp, f"saturation-{label}"), source) as (_proc, target):
            set_tick_interval(sim, args.fast_tick)
            try:
                counts = [10, 100] if quick else [10, 100, 500]
                for row in bench_saturation(sim, target, counts, 3.0 if quick else 10.0,
                                            args.readers):
                    print(f"[{label}] saturation {row['subscribers']:>3} subscribers: "
                          f"simulator {row['ticks_per_s']:,.0f} ticks/s, "
                          f"{row['deliveries_per_s']:,.0f} deliveries/s, latency p50 "
                          f"{row['p50_ms']:.1f} ms p99 {row['p99_ms']:.1f} ms (target "
                          f">= 150,000/s, p99 <= 20 ms at 100) | load {load()}", flush=True)
            finally:
                set_tick_interval(sim, args.tick_interval)
    if args.only in (None, "store"):
        sizes = (100, 2000) if quick else (100, 5000)
        r = bench_store(sim, tmp, n, source, sizes)
        print(f"[{label}] PlaceOrder p50 with {sizes[0]} orders in the store "
              f"{r[f'p50_{sizes[0]}']:.2f} ms, with {sizes[1]} {r[f'p50_{sizes[1]}']:.2f} ms: "
              f"ratio {r['ratio']:.2f} (target <= 1.1) | load {load()}", flush=True)
    if args.only in (None, "storm"):
        r = bench_storm(sim, tmp, source, 100, args.readers)
        print(f"[{label}] storm, 100 streams x 10 contracts at once: every stream has a quote "
              f"after {r['ready_s']:.2f} s, {r['lookups']} contract lookups at TWS; PlaceOrder "
              f"meanwhile ({r['orders_during']} orders) p50 {r['p50_during']:.2f} ms p99 "
              f"{r['p99_during']:.2f} ms max {r['max_during']:.2f} ms | load {load()}",
              flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="short run (smoke test of the bench)")
    p.add_argument("--only", choices=["loaded", "store", "saturation", "memory", "storm"])
    p.add_argument("--before", help="also measure the server code in this tree (source_tree.sh)")
    p.add_argument("--tick-interval", type=float, default=0.04,
                   help="simulator step; 0.04 s gives about 1,000 ticks/s over 10 stocks")
    p.add_argument("--quote-interval", type=float,
                   help="the servers' [server] quote_interval (seconds between fan-out turns); "
                        "default: the server's own (0.005)")  # fmt: skip
    p.add_argument("--fast-tick", type=float, default=0.004,
                   help="simulator step for the saturation bench (~10,000 ticks/s)")
    reader_programs.add_argument(p)
    args = p.parse_args()
    reader_programs.prepare(args.readers)
    with tempfile.TemporaryDirectory() as tmp, SimulatorThread(
            host="127.0.0.1", port=0, seed=11, tick_interval=args.tick_interval,
            max_market_data_lines=1000) as sim:
        print(f"quote_interval {args.quote_interval or 'the server default'}; "
              f"simulator 127.0.0.1:{sim.port}, tick interval {args.tick_interval}s, "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"{args.readers} quote readers, load {load()}", flush=True)
        if args.before:
            run_all(args, sim, tmp, "before", os.path.abspath(args.before))
        run_all(args, sim, tmp, "after", None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
