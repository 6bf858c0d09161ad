"""Quote subscribers in a process of their own, for bench_order_path.py (not a benchmark alone).

    python bench/quote_readers.py TARGET SUBSCRIBERS SECONDS [--symbols AAPL,MSFT,...]

Opens SUBSCRIBERS StreamQuotes streams at once on one channel, each for every symbol, and
prints JSON lines to stdout: {"ready": seconds until every stream had a quote of every
contract}, then, after SECONDS of reading, {"deliveries": quotes received, "seconds": ...,
"p50_ms"/"p99_ms": tick-to-subscriber latency (Quote.update_time is stamped by the server)};
with --latencies that line also holds "latencies": about 20,000 evenly spaced samples of the
sorted latencies (ms). bench/go/quote_readers is its Go twin (same command line, same lines).
Bounded: at most --ready-limit s (60) to get ready, then SECONDS; loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

import grpc
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import broker_service_pb2_grpc, contract_pb2


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


class Stream:
    def __init__(self, stub: Any, contracts: list[contract_pb2.Contract]) -> None:
        self.call = stub.StreamQuotes(pb.StreamQuotesRequest(contracts=contracts))
        self.wanted = len(contracts)
        self.seen: set[int] = set()
        self.measuring = False
        self.deliveries = 0
        self.latencies: list[float] = []

    async def run(self) -> None:
        try:
            async for msg in self.call:
                if not msg.HasField("quotes"):
                    continue
                now = time.time()
                for q in msg.quotes.quotes:
                    self.seen.add(q.con_id)
                    if self.measuring:
                        self.deliveries += 1
                        stamp = q.update_time.seconds + q.update_time.nanos / 1e9
                        if len(self.latencies) < 20_000:
                            self.latencies.append((now - stamp) * 1000)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.CANCELLED:
                raise


async def main_async(
    target: str, n: int, seconds: float, symbols: list[str], ready_limit: float,
    with_samples: bool = False,
) -> None:
    contracts = [
        contract_pb2.Contract(security_type=contract_pb2.SECURITY_TYPE_STOCK, symbol=s)
        for s in symbols
    ]
    options = [("grpc.max_concurrent_streams", 10_000)]
    async with grpc.aio.insecure_channel(target, options=options) as channel:
        stub = broker_service_pb2_grpc.BrokerServiceStub(channel)
        t0 = time.monotonic()
        streams = [Stream(stub, contracts) for _ in range(n)]
        tasks = [asyncio.create_task(s.run()) for s in streams]
        while any(len(s.seen) < s.wanted for s in streams):
            if time.monotonic() - t0 > ready_limit:
                got = sum(len(s.seen) == s.wanted for s in streams)
                print(json.dumps({"error": f"{got} of {n} streams had every quote after "
                                           f"{ready_limit:.0f} s"}), flush=True)
                return
            await asyncio.sleep(0.01)  # polling our own counters, bounded by READY_LIMIT
        print(json.dumps({"ready": time.monotonic() - t0}), flush=True)
        for s in streams:
            s.measuring = True
        start = time.monotonic()
        await asyncio.sleep(seconds)  # the measurement window
        elapsed = time.monotonic() - start
        for s in streams:
            s.measuring = False
        latencies = sorted(x for s in streams for x in s.latencies)
        figures: dict[str, Any] = {
            "deliveries": sum(s.deliveries for s in streams), "seconds": elapsed,
            "p50_ms": pct(latencies, 50), "p99_ms": pct(latencies, 99),
        }
        if with_samples:
            figures["latencies"] = latencies[::max(1, len(latencies) // 20_000)]
        print(json.dumps(figures), flush=True)
        for s in streams:
            s.call.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("target")
    p.add_argument("subscribers", type=int)
    p.add_argument("seconds", type=float)
    p.add_argument("--symbols", default="AAPL,MSFT,SPY,QQQ,AMZN,GOOGL,TSLA,NVDA,META,IWM")
    p.add_argument("--ready-limit", type=float, default=60.0,
                   help="seconds the streams may take to have every quote (at most 300)")
    p.add_argument("--latencies", action="store_true",
                   help="also print about 20,000 evenly spaced samples of the sorted latencies")
    args = p.parse_args()
    asyncio.run(main_async(args.target, args.subscribers, min(args.seconds, 120.0),
                           args.symbols.split(","), min(args.ready_limit, 300.0),
                           args.latencies))
    return 0


if __name__ == "__main__":
    sys.exit(main())
