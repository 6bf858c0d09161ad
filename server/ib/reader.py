"""Linear-time framing of the TWS byte stream, and the reader and decoder thread loops.

ibapi's EReader appends every recv to one buffer and slices the whole remaining buffer after each
message (`buf = buf[4 + size:]`), so a burst of N messages costs O(N^2) copying: a 6 MB burst
collapses it to ~8k msg/s (reference/tws-protocol.md, section 6). `FrameBuffer` walks the bytes
with an offset instead and keeps only the incomplete tail, once per recv; a message that spans
many recvs is accumulated in a bytearray and copied once when complete.

Thread model of one connection (see connection.py): the reader thread recv()s and frames and
hands each recv's batch of payloads to a bounded queue; the decoder thread takes batches, splits
each payload into fields exactly as `EClient.run` does and calls ibapi's `Decoder`, whose
callbacks (our EventWrapper) post events to the event loop. Market-data ticks, the flood, take
a fast path of their own when one is given (`BatchDecoder`, ticks.py) and yield the same events.
"""

from __future__ import annotations

import logging
import queue
import socket
import struct
from collections.abc import Callable
from typing import Any, Final, Protocol

from ibapi.common import PROTOBUF_MSG_ID
from ibapi.const import MAX_MSG_LEN
from ibapi.server_versions import MIN_SERVER_VER_PROTOBUF

logger = logging.getLogger(__name__)

_LENGTH: Final = struct.Struct(">I")
RECV_CHUNK: Final = 256 * 1024


class FramingError(Exception):
    """The stream cannot be framed (a length prefix beyond IB's maximum message length)."""


class FrameBuffer:
    """Splits a stream of length-prefixed TWS messages into payloads, in linear time."""

    __slots__ = ("_max_len", "_need", "_tail")

    def __init__(self, max_len: int = MAX_MSG_LEN) -> None:
        self._max_len = max_len
        self._tail = bytearray()  # the bytes of an incomplete message
        self._need = 0  # bytes `_tail` must hold before anything can be framed

    @property
    def pending(self) -> int:
        """How many bytes of an incomplete message are held."""
        return len(self._tail)

    def feed(self, data: bytes) -> list[bytes]:
        """Every payload completed by `data` (length prefix stripped), in order."""
        if self._tail:
            self._tail += data
            if len(self._tail) < self._need:
                return []
            data = bytes(self._tail)
            self._tail = bytearray()
        frames: list[bytes] = []
        append = frames.append
        unpack = _LENGTH.unpack_from
        size_limit = self._max_len
        end = len(data)
        offset = 0
        while end - offset >= 4:
            (size,) = unpack(data, offset)
            if size > size_limit:
                raise FramingError(f"message length {size} exceeds the maximum {size_limit}")
            stop = offset + 4 + size
            if stop > end:
                break
            append(data[offset + 4 : stop])
            offset = stop
        if offset < end:
            self._tail = bytearray(memoryview(data)[offset:])
            self._need = 4 if end - offset < 4 else 4 + unpack(data, offset)[0]
        return frames


# --- the two thread loops ----------------------------------------------------------------------


def reader_loop(
    sock: socket.socket,
    framer: FrameBuffer,
    batches: queue.Queue[list[bytes] | None],
    stopped: Callable[[], bool],
) -> str:
    """Recv, frame and enqueue until the stream ends or `stopped()`; returns why it ended.

    A full queue blocks the reader (so TCP pushes back on TWS) but never past `stopped()`.
    The caller enqueues the end marker (`None`) after recording the reason.
    """
    try:
        while not stopped():
            try:
                data = sock.recv(RECV_CHUNK)
            except TimeoutError:
                continue
            if not data:
                return "connection closed by TWS"
            frames = framer.feed(data)
            if frames and not put_batch(batches, frames, stopped):
                break
    except FramingError as exc:
        return f"framing error: {exc}"
    except OSError as exc:
        if not stopped():
            return f"socket error: {exc}"
    return "stopped"


def put_batch(
    batches: queue.Queue[list[bytes] | None],
    item: list[bytes] | None,
    stopped: Callable[[], bool],
) -> bool:
    """Enqueue, waiting while the queue is full unless `stopped()`; False if not enqueued."""
    while not stopped():
        try:
            batches.put(item, timeout=0.25)
            return True
        except queue.Full:
            pass
    return False


class EventBursts(Protocol):
    """The wrapper's hand-over per burst: `hold` on the decoder thread, `flush` per batch."""

    def hold(self) -> None: ...

    def flush(self) -> None: ...


class BatchDecoder(Protocol):
    """A fast path for some messages (ticks.py's TickDecoder): decodes those of a batch itself
    and hands every other one, in order, to `other`; False if `stopped()` ended it early."""

    def decode_batch(
        self, batch: list[bytes], other: Callable[[bytes], None], stopped: Callable[[], bool]
    ) -> bool: ...


def decoder_loop(
    decoder: Any,
    server_version: int,
    batches: queue.Queue[list[bytes] | None],
    stopped: Callable[[], bool],
    on_skip: Callable[[int, int, Exception], None] | None = None,
    bursts: EventBursts | None = None,
    fast: BatchDecoder | None = None,
) -> None:
    """Decode batches until the end of the stream or `stopped()`; the events of each batch
    reach the loop together (`bursts.flush()` after each batch and at the end). With `fast`,
    the messages it knows skip ibapi's Decoder."""
    decode = _PayloadDecoder(decoder, server_version, on_skip).decode
    if bursts is None:
        _decode_batches(decode, batches, stopped, lambda: None, fast)
        return
    bursts.hold()
    try:
        _decode_batches(decode, batches, stopped, bursts.flush, fast)
    finally:
        bursts.flush()


def _decode_batches(
    decode: Callable[[bytes], None],
    batches: queue.Queue[list[bytes] | None],
    stopped: Callable[[], bool],
    flush: Callable[[], None],
    fast: BatchDecoder | None,
) -> None:
    """Decode batches until the end of the stream (None) or `stopped()`, flushing after each."""
    while not stopped():
        try:
            batch = batches.get(timeout=0.25)
        except queue.Empty:
            continue
        if batch is None:
            return
        if fast is not None:
            if not fast.decode_batch(batch, decode, stopped):
                return
        else:
            for payload in batch:
                if stopped():
                    return
                decode(payload)
        flush()


class _PayloadDecoder:
    """One message through ibapi's Decoder, split into fields exactly as `EClient.run` does.

    A message that fails to decode (ibapi raises for a missing or mistyped field,
    tws-protocol.md G1, and EClient.run would disconnect) is logged with its message id and
    field count, reported to `on_skip(msg_id, field_count, exc)` and skipped: framing is by
    length prefix, so the next message starts where it should and the link stays up. Only
    broken framing (reader_loop) ends the link.
    """

    def __init__(
        self,
        decoder: Any,
        server_version: int,
        on_skip: Callable[[int, int, Exception], None] | None,
    ) -> None:
        self._decoder = decoder
        self._binary_ids = server_version >= MIN_SERVER_VER_PROTOBUF
        self._on_skip = on_skip

    def decode(self, payload: bytes) -> None:
        msg_id = 0
        fields: list[bytes] = []
        try:
            if self._binary_ids:
                msg_id = int.from_bytes(payload[:4], "big")
                if msg_id > PROTOBUF_MSG_ID:
                    self._decoder.processProtoBuf(payload[4:], msg_id - PROTOBUF_MSG_ID)
                    return
                fields = payload[4:].split(b"\0")
            else:
                fields = payload.split(b"\0")
                msg_id = int(fields.pop(0))
            fields.pop()  # the empty string after the last terminator
            self._decoder.interpret(fields, msg_id)
        except Exception as exc:
            logger.warning(
                "skipped a TWS message that does not decode: id %d, %d fields, %d bytes: "
                "%s: %.200s",
                msg_id, len(fields), len(payload), type(exc).__name__, exc,
            )  # fmt: skip
            if self._on_skip is not None:
                self._on_skip(msg_id, len(fields), exc)
