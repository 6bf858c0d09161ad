"""A hostile TWS for tests: a proxy in front of the simulator that speaks the wire protocol.

The gRPC server connects to the proxy as if it were TWS; every connection is relayed to the
simulator, frame by frame in both directions, so the session is real. On top of that a test can

- `inject(payload)`: put a message of its own (or malformed bytes) into the stream towards the
  server, between two real frames;
- `hold_from_tws(predicate)` / `hold_to_tws(predicate)`: swallow the messages a predicate picks
  (e.g. every execDetailsEnd, or every placeOrder) as a lossy link would;
- `drop_all()`: cut every connection, as a network failure would;
- `rewrite_handshake`: corrupt TWS's handshake reply on the connections that follow.

Framing: the server opens with b"API\\0" and then sends length-prefixed messages; the simulator
sends length-prefixed messages from its first byte (tws-protocol.md, section 1). The proxy reads
the server version from TWS's handshake reply and speaks that era: message ids are text fields
up to 178, 4-byte big-endian integers from 201 (protobuf payloads above id 200). Predicates and
`message` use the logical id (a protobuf message's id minus 200).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Callable

LENGTH = struct.Struct(">I")
Predicate = Callable[[int, bytes], bool]  # (logical message id, payload)
BINARY_IDS = 201  # ibapi's MIN_SERVER_VER_PROTOBUF: message ids are 4-byte integers from here
PROTOBUF_ID = 200  # ids above this carry a protobuf payload (logical id + 200)


def frame(payload: bytes) -> bytes:
    """One length-prefixed message."""
    return LENGTH.pack(len(payload)) + payload


def fields(*values: object) -> bytes:
    """A text-era payload: every value + NUL (no length prefix)."""
    return b"".join(str(v).encode() + b"\0" for v in values)


class _Link:
    def __init__(self, proxy: TwsProxy, client: asyncio.StreamWriter) -> None:
        self.proxy = proxy
        self.client = client
        self.tasks: list[asyncio.Task[None]] = []

    def inject(self, data: bytes) -> None:
        if not self.client.is_closing():
            self.client.write(data)

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        self.client.close()


class TwsProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.links: list[_Link] = []
        self.connections = 0  # connections accepted so far
        self.failures: list[BaseException] = []  # relays that failed (a bug of the proxy)
        self._server: asyncio.Server | None = None
        self._hold_from: Predicate | None = None
        self._hold_to: Predicate | None = None
        self.held_from_tws: list[bytes] = []
        self.held_to_tws: list[bytes] = []
        self.server_version = 0  # from TWS's handshake reply (the newest connection's)
        # Replaces TWS's first message (the handshake reply: version and time) when set.
        self.rewrite_handshake: Callable[[bytes], bytes] | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.drop_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> TwsProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- what a test does -------------------------------------------------------------------

    def hold_from_tws(self, predicate: Predicate | None) -> None:
        """Swallow messages towards the server that `predicate(msg_id, payload)` picks."""
        self._hold_from = predicate

    def hold_to_tws(self, predicate: Predicate | None) -> None:
        """Swallow messages towards TWS that `predicate(msg_id, payload)` picks."""
        self._hold_to = predicate

    def message(self, msg_id: int | str, *values: object) -> bytes:
        """A framed text message in the era of the connection: `fields` after the id."""
        if self.server_version >= BINARY_IDS and isinstance(msg_id, int):
            return frame((msg_id % 2**32).to_bytes(4, "big") + fields(*values))
        return frame(fields(msg_id, *values))

    def logical_id(self, payload: bytes) -> int:
        """The message id of a payload in the connection's era (-1 when there is none)."""
        if self.server_version >= BINARY_IDS:
            msg_id = int.from_bytes(payload[:4], "big") if len(payload) >= 4 else -1
            return msg_id - PROTOBUF_ID if msg_id > PROTOBUF_ID else msg_id
        head = payload.split(b"\0", 1)[0]
        return int(head) if head.isdigit() else -1

    def inject(self, data: bytes) -> int:
        """Write raw bytes (framed or not) to every connected server; returns how many."""
        for link in self.links:
            link.inject(data)
        return len(self.links)

    def drop_all(self) -> int:
        links, self.links = self.links, []
        for link in links:
            link.close()
        return len(links)

    # --- relaying -----------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        link = _Link(self, writer)
        self.links.append(link)
        link.tasks = [
            asyncio.create_task(self._relay(reader, up_writer, to_tws=True)),
            asyncio.create_task(self._relay(up_reader, writer, to_tws=False)),
        ]
        try:
            done, _ = await asyncio.wait(link.tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    self.failures.append(task.exception())  # type: ignore[arg-type]
        finally:
            link.close()
            up_writer.close()
            if link in self.links:
                self.links.remove(link)

    async def _relay(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, *, to_tws: bool
    ) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            if to_tws:
                dst.write(await src.readexactly(4))  # b"API\0"
            first = True
            while True:
                (size,) = LENGTH.unpack(await src.readexactly(4))
                payload = await src.readexactly(size)
                if first and not to_tws:
                    head = payload.split(b"\0", 1)[0]
                    self.server_version = int(head) if head.isdigit() else 0
                    if self.rewrite_handshake is not None:
                        payload = self.rewrite_handshake(payload)
                    first = False
                elif first:  # the client's version offer, not a message
                    first = False
                else:
                    hold = self._hold_to if to_tws else self._hold_from
                    if hold is not None and hold(self.logical_id(payload), payload):
                        (self.held_to_tws if to_tws else self.held_from_tws).append(payload)
                        continue
                dst.write(frame(payload))
                await dst.drain()
