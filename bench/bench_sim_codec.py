"""Microbenchmark of the simulator codec: frames encoded / decoded per second.

Usage: python bench/bench_sim_codec.py [--iterations N] [--seconds S]

Prints tickPrice frames encoded per second (the hot path; target >= 300k/s), the generic
encoder for comparison, the protobuf-era twins (proto_replies), openOrder frames per second,
and FrameReader decode throughput over a 1 MiB burst fed in 64 KiB chunks. Each loop is
bounded by both an iteration count and a time.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from decimal import Decimal

from ibkr_broker.simulator.codec import proto_replies as P
from ibkr_broker.simulator.codec import responses as R
from ibkr_broker.simulator.codec.wire import FrameReader, encode_fields
from ibkr_broker.simulator.model import ContractSpec, OrderRequest, OrderSnapshot


def rate(label: str, fn: Callable[[int], object], iterations: int, seconds: float) -> float:
    batch = 10_000
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while done < iterations and time.perf_counter() < deadline:
        n = min(batch, iterations - done)
        for i in range(done, done + n):
            fn(i)
        done += n
    elapsed = time.perf_counter() - start
    per_s = done / elapsed
    print(f"{label:<44} {per_s:>12,.0f} /s   ({done:,} in {elapsed:.2f} s)")
    return per_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--iterations", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    n, s = args.iterations, args.seconds

    prices = [Decimal("187.43") + Decimal(k) / 100 for k in range(100)]
    size = Decimal("300")
    tick = R.tick_price
    rate("tickPrice encode (responses.tick_price)",
         lambda i: tick(i & 1023, 1 + (i & 1), prices[i % 100], size), n, s)  # fmt: skip
    rate("tickPrice encode (generic encode_fields)",
         lambda i: encode_fields((1, 6, i & 1023, 1, prices[i % 100], size, 0)),
         n // 4, s)  # fmt: skip

    req = OrderRequest(
        order_id=1, contract=ContractSpec(con_id=265598, symbol="AAPL", sec_type="STK",
                                          exchange="SMART", currency="USD"),
        action="BUY", total_quantity=Decimal(100), order_type="LMT", lmt_price=Decimal("150.25"),
    )  # fmt: skip
    snap = OrderSnapshot(request=req, client_id=1, perm_id=7, status="Submitted",
                         filled=Decimal(0), remaining=Decimal(100), avg_fill_price=Decimal(0),
                         last_fill_price=Decimal(0), account="DU1")  # fmt: skip
    proto_tick = P.tick_price
    rate("tickPrice encode (protobuf era)",
         lambda i: proto_tick(i & 1023, 1 + (i & 1), prices[i % 100], size), n // 4, s)
    rate("openOrder encode (~150 fields)", lambda i: R.open_order(snap), n // 20, s)
    rate("openOrder encode (protobuf era)", lambda i: P.open_order(snap), n // 20, s)

    burst = b"".join(tick(k & 1023, 1, prices[k % 100], size) for k in range(40_000))
    reps = max(1, min(50, n // 40_000))
    start = time.perf_counter()
    count = 0
    for _ in range(reps):
        reader = FrameReader()
        for off in range(0, len(burst), 65536):
            count += len(reader.feed(burst[off : off + 65536]))
    elapsed = time.perf_counter() - start
    print(f"{'FrameReader decode (64 KiB chunks)':<44} {count / elapsed:>12,.0f} /s   "
          f"({count:,} frames, {len(burst) * reps / elapsed / 1e6:.1f} MB/s)")  # fmt: skip


if __name__ == "__main__":
    main()
