"""How fast the bridge ingests a burst from TWS, against ibapi's stock EReader.

A flood server (this file with --serve, in a subprocess on a free loopback port) answers the API
handshake and, right after startApi, writes nextValidId, managedAccounts and then COUNT tickPrice
messages in one go (~25 bytes each; 200k = ~5 MB), the same bytes for both clients. Two clients
read it:

- gateway: `IbGateway` (offset framing, reader + decoder threads, the ticks decoded by its own
  fast path (server/ib/ticks.py), events handed to the asyncio loop per burst with
  call_soon_threadsafe and counted there), i.e. end to end;
- ibapi:   the unmodified EClient with its EReader thread and EClient.run decoder thread,
  counting in the tickPrice callback (no loop hand-off, which flatters it).

Two scenarios:

- flood:  the client reads while the server writes. A reader that keeps up sees small recvs,
  so ibapi's quadratic framing stays cheap (it only costs when a big buffer accumulates);
- queued: the burst is already waiting in the socket when the reader starts (both clients get a
  4 MiB SO_RCVBUF and their reader thread is held until the receive queue is full): what a burst
  looks like to a process that was busy for a moment (event loop, GC, a reconnect replay).
  ibapi's `_recvAllMsg` then returns megabytes at once and EReader re-copies the remaining
  buffer for every message (tws-protocol.md section 6).

Each rate is tickPrice messages per second, from the first message (flood) or from the release
of the reader (queued) to the last tick. Runs are bounded by --time-limit: a run that cannot
finish prints the rate so far.

Eras (--era): text sends the ticks as text fields and answers server version 178; protobuf
sends the same ticks as TickPrice protobufs (message id 201) and answers 226, the newest
version both clients speak; both runs one after the other.

    .venv/bin/python bench/bench_ingest.py [--count 200000] [--runs 3] [--time-limit 30]
                                           [--era text|protobuf|both] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from decimal import Decimal
from typing import Any

RCVBUF = 4 << 20


ERAS = {"text": 178, "protobuf": 226}  # the server version the flood server answers


def _frame(*fields: object) -> bytes:
    body = b"".join(str(f).encode() + b"\0" for f in fields)
    return struct.pack(">I", len(body)) + body


def _binary_frame(msg_id: int, body: bytes) -> bytes:
    """A message of the protobuf era: a 4-byte message id, then text fields or a protobuf."""
    payload = msg_id.to_bytes(4, "big") + body
    return struct.pack(">I", len(payload)) + payload


def _text_ticks(count: int) -> Iterator[bytes]:
    for i in range(count):
        yield _frame(1, 6, i % 100, 1 + i % 2, f"{100 + i % 100}.25", 100, 0)


def _protobuf_ticks(count: int) -> Iterator[bytes]:
    """The same ticks as TickPrice protobufs (message id 200 + 1)."""
    from ibapi.protobuf.TickPrice_pb2 import TickPrice

    for i in range(count):
        tick = TickPrice(
            reqId=i % 100, tickType=1 + i % 2, price=100 + i % 100 + 0.25, size="100", attrMask=0
        )
        yield _binary_frame(201, tick.SerializeToString())


def burst_bytes(count: int, era: str = "text") -> bytes:
    if era == "text":
        ready = _frame(9, 1, 1) + _frame(15, 1, "DU123")
        return ready + b"".join(_text_ticks(count))
    ready = _binary_frame(9, b"1\x001\x00") + _binary_frame(15, b"1\x00DU123\x00")
    return ready + b"".join(_protobuf_ticks(count))


# --- the flood server (a subprocess) -----------------------------------------------------------


def _read_exactly(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("client went away")
        data += chunk
    return data


def _serve_one(conn: socket.socket, burst: bytes, version: int) -> None:
    with conn:
        try:
            assert _read_exactly(conn, 4) == b"API\0"
            _read_exactly(conn, struct.unpack(">I", _read_exactly(conn, 4))[0])
            conn.sendall(_frame(version, "20260112 09:30:00 EST"))
            _read_exactly(conn, struct.unpack(">I", _read_exactly(conn, 4))[0])  # startApi
            conn.sendall(burst)
            while conn.recv(65536):  # until the client disconnects
                pass
        except (ConnectionError, OSError):
            pass


def serve(count: int, era: str) -> None:
    """Print the port, then serve every connection with one burst."""
    burst = burst_bytes(count, era)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        print(listener.getsockname()[1], flush=True)
        while True:
            conn, _ = listener.accept()
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, RCVBUF)
            threading.Thread(target=_serve_one, args=(conn, burst, ERAS[era]), daemon=True).start()


@contextmanager
def flood_server(count: int, era: str) -> Iterator[int]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--count", str(count), "--era", era],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- the "queued" scenario: big receive buffers, readers held until the burst is waiting ------


class _BigBufferSockets:
    """Stands in for the `socket` module of a client: new sockets get a 4 MiB SO_RCVBUF."""

    def __getattr__(self, name: str) -> Any:
        return getattr(socket, name)

    def socket(self, *args: Any, **kwargs: Any) -> socket.socket:
        sock = socket.socket(*args, **kwargs)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        return sock


def _queued_bytes(sock: socket.socket) -> int:
    raw = fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0")
    return int(struct.unpack("i", raw)[0])


def _hold_until_queued(sock: socket.socket, total: int, timeout: float = 10.0) -> float:
    """Wait until `total` bytes wait in `sock` or the queue stops growing; the release time."""
    deadline = time.monotonic() + timeout
    last, stable_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        queued = _queued_bytes(sock)
        if queued >= total:
            break
        if queued != last:
            last, stable_since = queued, time.monotonic()
        elif queued > 0 and time.monotonic() - stable_since > 0.1:
            break  # the receive buffer is full; the rest is in the sender's buffer
        time.sleep(0.002)
    return time.perf_counter()


@contextmanager
def queued_scenario(total: int, released: list[float]) -> Iterator[None]:
    """Patch both clients' socket creation and reader start (benchmark only)."""
    import ibapi.connection
    import ibapi.reader
    from ibkr_broker.server.ib import connection

    stock_run = ibapi.reader.EReader.run
    our_loop = connection.reader_loop

    def held_stock_run(self: Any) -> None:
        released.append(_hold_until_queued(self.conn.socket, total))
        stock_run(self)

    def held_reader_loop(sock: socket.socket, *args: Any) -> str:
        released.append(_hold_until_queued(sock, total))
        return our_loop(sock, *args)

    saved = (ibapi.connection.socket, connection.socket)
    ibapi.connection.socket = connection.socket = _BigBufferSockets()  # type: ignore[assignment]
    ibapi.reader.EReader.run = held_stock_run
    connection.reader_loop = held_reader_loop  # type: ignore[assignment]
    try:
        yield
    finally:
        ibapi.connection.socket, connection.socket = saved
        ibapi.reader.EReader.run = stock_run
        connection.reader_loop = our_loop


# --- the two clients ---------------------------------------------------------------------------


async def _gateway_run(port: int, count: int, time_limit: float) -> tuple[int, float, float]:
    from ibkr_broker.server.ib import IbGateway
    from ibkr_broker.server.session.ib_port import IbEvent, NextValidIdEvent, TickPriceEvent

    done = asyncio.Event()
    state = {"ticks": 0, "first": 0.0}

    def sink(event: IbEvent) -> None:
        if type(event) is TickPriceEvent:
            state["ticks"] += 1
            if state["ticks"] == count:
                done.set()
        elif type(event) is NextValidIdEvent:
            state["first"] = time.perf_counter()

    gateway = IbGateway()
    gateway.set_event_sink(sink)
    await gateway.connect("127.0.0.1", port, 1, 10.0)
    with suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), time_limit)
    end = time.perf_counter()
    await gateway.disconnect()
    return int(state["ticks"]), state["first"], end


def bench_gateway(port: int, count: int, time_limit: float) -> tuple[int, float, float]:
    return asyncio.run(_gateway_run(port, count, time_limit))


def bench_ibapi(port: int, count: int, time_limit: float) -> tuple[int, float, float]:
    from ibapi.client import EClient
    from ibapi.wrapper import EWrapper

    class App(EWrapper, EClient):  # type: ignore[misc]
        def __init__(self) -> None:
            EWrapper.__init__(self)
            EClient.__init__(self, self)
            self.ticks = 0
            self.first = 0.0
            self.done = threading.Event()

        def nextValidId(self, orderId: int) -> None:
            self.first = time.perf_counter()

        def managedAccounts(self, accountsList: str) -> None:
            pass

        def tickPrice(self, reqId: int, tickType: int, price: float, attrib: Any) -> None:
            self.ticks += 1
            if self.ticks == count:
                self.done.set()

        def tickSize(self, reqId: int, tickType: int, size: Decimal) -> None:
            pass

        def error(self, *args: Any) -> None:
            pass

    app = App()
    app.connect("127.0.0.1", port, 1)

    def run() -> None:
        with suppress(Exception):  # stock ibapi can trip over its own disconnect()
            app.run()

    threading.Thread(target=run, name="ibapi-run", daemon=True).start()
    app.done.wait(time_limit)
    end, ticks = time.perf_counter(), app.ticks
    app.disconnect()  # an EReader still framing a huge buffer carries on until it is done
    return ticks, app.first, end


def _run(
    name: str,
    bench: Callable[[int, int, float], tuple[int, float, float]],
    port: int,
    count: int,
    time_limit: float,
    released: list[float] | None = None,
) -> float:
    ticks, first, end = bench(port, count, time_limit)
    # queued: from the release of the reader thread; flood: from the first message
    elapsed = end - (released.pop() if released else first)
    rate = ticks / elapsed if elapsed > 0 else 0.0
    note = "" if ticks == count else f"  (incomplete: {ticks:,} of {count:,} in the time limit)"
    print(f"  {name:8s} {rate:10,.0f} msg/s  ({ticks:,} ticks in {elapsed:.2f} s){note}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3, help="gateway runs per scenario")
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per run")
    parser.add_argument("--skip-ibapi", action="store_true")
    parser.add_argument(
        "--era",
        choices=[*ERAS, "both"],
        default="text",
        help="text: tickPrice as text fields (server version 178); protobuf: as TickPrice "
        "protobufs (226)",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="one run of each, 10 s at most")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.time_limit = 1, 10.0
    if args.serve:
        serve(args.count, args.era)
        return
    eras = list(ERAS) if args.era == "both" else [args.era]
    results: dict[str, float] = {}
    for era in eras:
        results.update(_bench_era(era, args))
    print("summary (msg/s, gateway = best of its runs):")
    for name, rate in results.items():
        print(f"  {name:24s} {rate:10,.0f}")
    for era in eras:
        for scenario in ("flood", "queued"):
            ours = results.get(f"gateway {scenario} {era}")
            stock = results.get(f"ibapi {scenario} {era}")
            if ours and stock:
                print(f"  {scenario} ({era} era): gateway/ibapi {ours / stock:.2f}x "
                      f"(target >= 3x and >= 100,000 msg/s)")  # fmt: skip
    sys.stdout.flush()
    os._exit(0)  # an ibapi EReader may still be re-copying its buffer: do not wait for it


def _bench_era(era: str, args: argparse.Namespace) -> dict[str, float]:
    """Both scenarios against one flood server of `era`: each client's rate (gateway: best)."""
    count, limit = args.count, args.time_limit
    total = len(burst_bytes(count, era))
    print(f"{era} era: ingest of {count:,} tickPrice messages ({total / 1e6:.1f} MB) over loopback")
    results: dict[str, float] = {}
    with flood_server(count, era) as port:
        print("flood (the client reads while the server writes):")
        results[f"gateway flood {era}"] = max(
            _run("gateway", bench_gateway, port, count, limit) for _ in range(args.runs)
        )
        if not args.skip_ibapi:
            results[f"ibapi flood {era}"] = _run("ibapi", bench_ibapi, port, count, limit)
        print("queued (the burst waits in a 4 MiB receive buffer when the reader starts):")
        released: list[float] = []
        with queued_scenario(total, released):
            results[f"gateway queued {era}"] = max(
                _run("gateway", bench_gateway, port, count, limit, released)
                for _ in range(args.runs)
            )
            if not args.skip_ibapi:
                results[f"ibapi queued {era}"] = _run(
                    "ibapi", bench_ibapi, port, count, limit, released
                )
    return results


if __name__ == "__main__":
    main()
