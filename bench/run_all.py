"""`make bench`: run every benchmark once, in order, and print their figures.

Each benchmark bounds itself in count and time and talks only to 127.0.0.1.
Results are recorded by hand in bench/README.md with the date and machine.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    ("simulator codec", ["bench_sim_codec.py"]),
    ("simulator tick rate to ibapi and ib_async", ["bench_sim_ticks.py"]),
    ("gateway ingest of a TWS burst, both eras", ["bench_ingest.py", "--runs=2", "--era=both"]),
    ("gateway: PlaceOrder latency, quote fan-out, memory", ["bench_gateway.py"]),
    ("the order path under quote load and a growing book", ["bench_order_path.py"]),
    ("quote fan-out: one process against two edges on NATS", ["bench_bus.py"]),
]


def main() -> int:
    failed = []
    for title, args in BENCHES:
        print(f"\n== {title} ==", flush=True)
        result = subprocess.run([sys.executable, str(HERE / args[0]), *args[1:]], timeout=900)
        if result.returncode != 0:
            failed.append(title)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
