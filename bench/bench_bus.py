"""Quote fan-out through one process against through two edges on NATS JetStream (issue 16).

Usage: python bench/bench_bus.py [--seconds S] [--subscribers 100,500] [--quick]
                                 [--readers python|go]

In the same run, with the same gateway (`ibkr-broker serve --bus`, a subprocess), the same
simulator (about 1,000 ticks/s over 10 stocks) and the same two reader processes:
- one process: every subscriber streams from the gateway itself;
- two edges: half the subscribers stream from each of two `ibkr-broker edge` processes, which
  take the quotes from NATS (Debian's nats-server -js, a subprocess).
Figures per round: quote deliveries/s summed over all subscribers, latency p50/p99 (from the
gateway's session taking a tick in, Quote.update_time, to the subscriber), and PlaceOrder
latency (5 orders/s to the gateway during the round) to show order acknowledgements are
unaffected. The reader processes are quote_readers.py, or its Go twin with --readers go
(readers.py). Everything on 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import grpc
from ibkr_broker.simulator.server import SimulatorThread
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import broker_service_pb2_grpc, common_pb2, order_pb2

sys.path.insert(0, str(Path(__file__).resolve().parent))
import readers as reader_programs
from bench_gateway import pct, stock

READERS = 2  # reader processes, the same in both modes


@contextmanager
def nats_server(tmp: str) -> Any:
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    proc = subprocess.Popen(
        [binary, "-js", "-a", "127.0.0.1", "-p", "-1", "-sd", f"{tmp}/js", "--ports_file_dir", tmp],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        ports = Path(tmp) / f"nats-server_{proc.pid}.ports"
        deadline = time.monotonic() + 10
        while not (ports.exists() and ports.read_text().strip()):
            if time.monotonic() > deadline:
                raise RuntimeError("nats-server did not start")
            time.sleep(0.05)  # polling for the ports file, bounded by the deadline
        yield proc, json.loads(ports.read_text())["nats"][0]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def process(args: list[str], ready: str) -> Any:
    """An `ibkr-broker` subprocess; yields HOST:PORT from its first line matching `ready`."""
    cmd = [sys.executable, "-m", "ibkr_broker", *args, "--listen", "127.0.0.1:0",
           "--log-level", "WARNING"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(ready + r" on (127\.0\.0\.1:\d+)", line)
        if not match:
            raise RuntimeError(f"{args[0]} did not start: {line!r}")
        yield proc, match.group(1)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_ready(target: str, what: str) -> None:
    with grpc.insecure_channel(target) as channel:
        stub = broker_service_pb2_grpc.BrokerServiceStub(channel)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                status = stub.GetStatus(pb.GetStatusRequest(), wait_for_ready=True, timeout=5)
                if status.connection_state == common_pb2.CONNECTION_STATE_READY:
                    return
            except grpc.RpcError:
                pass  # an edge before the gateway announced itself
            time.sleep(0.1)  # polling the state, bounded by the deadline
    raise RuntimeError(f"{what} never became ready")


# --- a round ------------------------------------------------------------------------------------


async def place_during(target: str, seconds: float) -> list[float]:
    """PlaceOrder at 5/s to the gateway: call-to-acknowledgement times (ms)."""
    out = []
    async with grpc.aio.insecure_channel(target) as channel:
        stub = broker_service_pb2_grpc.BrokerServiceStub(channel)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            spec = order_pb2.OrderSpec(
                action=common_pb2.ORDER_ACTION_BUY, quantity="1",
                order_type=order_pb2.ORDER_TYPE_LIMIT, limit_price="1.00",
            )  # fmt: skip
            t = time.perf_counter()
            await stub.PlaceOrder(
                pb.PlaceOrderRequest(request_id=uuid.uuid4().hex, contract=stock("AAPL"),
                                     order=spec), timeout=10,
            )  # fmt: skip
            out.append((time.perf_counter() - t) * 1000)
            await asyncio.sleep(0.2)  # the offered rate, 5 orders/s
    return out


def reader_figures(reader: subprocess.Popen[str]) -> dict[str, Any]:
    """A reader process's last line: its figures, or RuntimeError with the error it printed."""
    out = reader.communicate(timeout=120)[0].strip().splitlines()
    last: dict[str, Any] = json.loads(out[-1]) if out else {"error": "no output"}
    if "error" in last or "latencies" not in last:
        raise RuntimeError(f"quote readers: {last.get('error', last)}")
    return last


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Cores used by named processes (and their readers) between start() and stop()."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self._start: dict[str, float] = {}
        self._t0 = 0.0

    def start(self, extra: dict[str, int]) -> None:
        self.pids = {**self.pids, **extra}
        self._start = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        self._t0 = time.monotonic()

    def stop(self) -> dict[str, float]:
        elapsed = time.monotonic() - self._t0
        return {name: (cpu_seconds(pid) - self._start[name]) / elapsed
                for name, pid in self.pids.items()}  # fmt: skip


def run_round(kind: str, targets: list[str], gateway: str, subscribers: int,
              seconds: float, meter: CpuMeter) -> dict[str, Any]:
    per = subscribers // READERS
    readers = [
        subprocess.Popen(
            reader_programs.command(kind, targets[i % len(targets)], per, seconds,
                                    "--ready-limit", "30", "--latencies"),
            stdout=subprocess.PIPE, text=True,
        )
        for i in range(READERS)
    ]
    time.sleep(min(8.0, 2 + subscribers / 100))  # readers warm up before orders are timed
    meter.start({f"readers{i}": r.pid for i, r in enumerate(readers)})
    acks = asyncio.run(place_during(gateway, seconds))
    cores = meter.stop()
    results = [reader_figures(r) for r in readers]
    lat = sorted(x for r in results for x in r["latencies"])
    return {
        "deliveries_per_s": sum(r["deliveries"] / r["seconds"] for r in results),
        "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99),
        "ack_p50_ms": pct(acks, 50), "ack_p99_ms": pct(acks, 99), "cores": cores,
    }  # fmt: skip


def cores_line(cores: dict[str, float]) -> str:
    readers = sum(v for k, v in cores.items() if k.startswith("readers"))
    named = ", ".join(f"{k} {v:.2f}" for k, v in cores.items() if not k.startswith("readers"))
    return f"cores used: {named}, readers {readers:.2f}"


def per_core(r: dict[str, Any], serving: list[str]) -> float:
    """Deliveries per second of CPU of the processes that wrote the streams."""
    return float(r["deliveries_per_s"]) / max(1e-9, sum(r["cores"][k] for k in serving))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--subscribers", default="100,500")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--tick-interval", type=float, default=0.04,
                   help="simulator step: 0.04 s is about 1,000 ticks/s over 10 stocks; 0.004 "
                        "about 8,000, enough to saturate one process")  # fmt: skip
    reader_programs.add_argument(p)
    args = p.parse_args()
    reader_programs.prepare(args.readers)
    if args.quick:
        args.seconds, args.subscribers = 3.0, "20"
    load = os.getloadavg()
    print(f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"({os.cpu_count()} cores), {args.readers} quote readers, simulator step "
          f"{args.tick_interval} s")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        sim = stack.enter_context(SimulatorThread(host="127.0.0.1", port=0, seed=11,
                                                  tick_interval=args.tick_interval))  # fmt: skip
        nats, url = stack.enter_context(nats_server(tmp))
        gateway_proc, gateway = stack.enter_context(process(
            ["serve", "--tws", f"127.0.0.1:{sim.port}", "--bus", url,
             "--data-dir", f"{tmp}/gw"], "serving ibkr_broker.v1.BrokerService"))  # fmt: skip
        wait_ready(gateway, "the gateway")
        edges, pids = [], {"gateway": gateway_proc.pid, "nats": nats.pid}
        for i in range(2):
            edge_proc, edge = stack.enter_context(process(
                ["edge", "--bus", url, "--data-dir", f"{tmp}/edge{i}"],
                "edge serving ibkr_broker.v1.BrokerService"))  # fmt: skip
            wait_ready(edge, f"edge {i}")
            edges.append(edge)
            pids[f"edge{i}"] = edge_proc.pid
        for n in [int(x) for x in args.subscribers.split(",")]:
            rounds = {}
            for mode, targets in (("one process", [gateway]), ("two edges", edges)):
                r = rounds[mode] = run_round(args.readers, targets, gateway, n, args.seconds,
                                             CpuMeter(pids))  # fmt: skip
                print(f"{n:>4} subscribers, {mode:<11}: {r['deliveries_per_s']:>9,.0f} quote "
                      f"deliveries/s, latency p50 {r['p50_ms']:.2f} ms p99 {r['p99_ms']:.2f} ms"
                      f" | PlaceOrder ack p50 {r['ack_p50_ms']:.2f} ms p99 "
                      f"{r['ack_p99_ms']:.2f} ms  (load {os.getloadavg()[0]:.2f})\n"
                      f"      {cores_line(r['cores'])}", flush=True)  # fmt: skip
            one, two = rounds["one process"], rounds["two edges"]
            print(f"      two edges / one process: "
                  f"{two['deliveries_per_s'] / one['deliveries_per_s']:.2f}x measured here; "
                  f"deliveries per core-second of the processes writing the streams: "
                  f"gateway {per_core(one, ['gateway']):,.0f}, edges "
                  f"{per_core(two, ['edge0', 'edge1']):,.0f}", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
