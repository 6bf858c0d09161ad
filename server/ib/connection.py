"""One TWS connection: the API handshake with a real deadline, and the threads of an open link.

Handshake (`handshake`): done on the event loop with a non-blocking socket (`loop.sock_*`), so
`asyncio.timeout` bounds the TCP connect and the version exchange together and cancelling it
closes the socket; no thread exists before the handshake succeeds. (ibapi's own `connect()`
has no deadline and loops forever against a listener that never answers, tws-protocol.md G4,
and drops bytes that arrive right after the version reply, G3: both avoided here.)

`Link`: the established connection. It stands in for ibapi's `Connection` under `EClient`
(`sendMsg`, `isConnected`), runs a reader and a decoder thread (reader.py), and ends exactly
once: the first `close(reason)` wins, shuts the socket down (which wakes the reader), and the
decoder thread calls `on_end(link)` as its very last act. A close by the peer, a framing error
or a socket error drains the messages already received first; `disconnect` and a send failure
stop at once. A message that does not decode is skipped and counted (`decode_errors`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import queue
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..domain.errors import DeadlineExceeded, Unavailable
from .reader import (
    BatchDecoder,
    EventBursts,
    FrameBuffer,
    FramingError,
    decoder_loop,
    put_batch,
    reader_loop,
)
from .versions import OFFERED_MIN, PROVEN_MAX_SERVER_VERSION

logger = logging.getLogger(__name__)

_HANDSHAKE_LIMIT = 64 * 1024  # bytes a server may send before its version reply


@dataclass
class Handshake:
    """The outcome of a successful API handshake."""

    sock: socket.socket
    server_version: int
    connection_time: str
    framer: FrameBuffer  # holds any partial message that followed the version reply
    early_frames: list[bytes] = field(default_factory=list)  # whole messages that followed it


def _version_request(max_server_version: int) -> bytes:
    text = f"v{OFFERED_MIN}..{max_server_version}".encode("ascii")
    return b"API\0" + len(text).to_bytes(4, "big") + text


async def _tcp_connect(loop: asyncio.AbstractEventLoop, host: str, port: int) -> socket.socket:
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
        addresses: list[tuple[Any, ...]] = [(family, (host, port))]
    except ValueError:  # a host name: resolve it (IPv4 and IPv6, in the resolver's order)
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [(info[0], info[4]) for info in infos]
    last_error: OSError | None = None
    for family, address in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, address)
        except OSError as exc:
            sock.close()
            last_error = exc
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    raise last_error or OSError(f"no address for {host}")


async def _read_version(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, max_server_version: int
) -> tuple[int, str, FrameBuffer, list[bytes]]:
    framer = FrameBuffer()
    received = 0
    while received < _HANDSHAKE_LIMIT:
        data = await loop.sock_recv(sock, 4096)
        if not data:
            raise Unavailable(
                "TWS closed the connection during the API handshake (is the API enabled, this "
                "host trusted, or the client id in use?)"
            )
        received += len(data)
        try:
            frames = framer.feed(data)
        except FramingError as exc:
            raise Unavailable(f"not a TWS API port: {exc}") from None
        for index, frame in enumerate(frames):
            fields = frame.split(b"\0")[:-1]
            if len(fields) != 2:  # ibapi also skips anything before the version reply
                logger.debug("ignoring a message before the version reply: %r", frame[:100])
                continue
            try:
                version = int(fields[0])
            except ValueError:
                raise Unavailable(f"not a TWS API port: bad version reply {frame[:40]!r}") from None
            if not OFFERED_MIN <= version <= max_server_version:
                raise Unavailable(
                    f"TWS answered with API server version {version}, outside the offered "
                    f"{OFFERED_MIN}..{max_server_version}"
                )
            conn_time = fields[1].decode("ascii", errors="replace")
            return version, conn_time, framer, frames[index + 1 :]
    raise Unavailable("not a TWS API port: no version reply in the first 64 KiB")


async def handshake(
    host: str, port: int, timeout: float, max_server_version: int = PROVEN_MAX_SERVER_VERSION
) -> Handshake:
    """Connect and exchange versions within `timeout` seconds, offering server versions up to
    `max_server_version`; raises `Unavailable`."""
    loop = asyncio.get_running_loop()
    where = f"{host}:{port}"
    sock: socket.socket | None = None
    phase = "TCP connect"
    try:
        async with asyncio.timeout(timeout):
            sock = await _tcp_connect(loop, host, port)
            phase = "API handshake"
            await loop.sock_sendall(sock, _version_request(max_server_version))
            version, conn_time, framer, early = await _read_version(loop, sock, max_server_version)
    except TimeoutError:
        if sock is not None:
            sock.close()
        if phase == "TCP connect":
            raise DeadlineExceeded(f"TCP connect to {where} timed out after {timeout:g}s") from None
        raise DeadlineExceeded(
            f"{where} accepted the connection but sent no API handshake within {timeout:g}s "
            "(is it a TWS / IB Gateway API port?)"
        ) from None
    except ConnectionRefusedError:
        raise Unavailable(
            f"connection refused by {where} (is TWS / IB Gateway running with the API socket "
            "enabled on that port?)"
        ) from None
    except OSError as exc:
        if sock is not None:
            sock.close()
        raise Unavailable(f"cannot connect to {where} during the {phase}: {exc}") from None
    except BaseException:
        if sock is not None:
            sock.close()
        raise
    return Handshake(sock, version, conn_time, framer, early)


class Link:
    """An established connection: socket, send lock, reader and decoder threads, one ending."""

    def __init__(
        self,
        shake: Handshake,
        on_end: Callable[[Link], None],
        *,
        name: str = "ib",
        send_timeout: float = 5.0,
        queue_batches: int = 64,
    ) -> None:
        self.sock = shake.sock
        self.server_version = shake.server_version
        self.connection_time = shake.connection_time
        self.decoder: Any = None  # ibapi Decoder, set before start()
        self.bursts: EventBursts | None = None  # its wrapper's hand-over per burst
        self.fast: BatchDecoder | None = None  # the ticks' fast path past the decoder
        self.reason = ""  # why the link ended (first close wins)
        self.decode_errors = 0  # messages from TWS that failed to decode (logged and skipped)
        self.end_delivered = False  # touched only on the event loop by the gateway
        self.ended = asyncio.Event()  # set on the loop once ConnectionClosedEvent was delivered
        self._framer = shake.framer
        self._early = shake.early_frames
        self._on_end = on_end
        self._state_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._closing = False
        self._aborted = False
        self._batches: queue.Queue[list[bytes] | None] = queue.Queue(maxsize=queue_batches)
        self._threads = [
            threading.Thread(target=self._read, name=f"{name}-reader", daemon=True),
            threading.Thread(target=self._decode, name=f"{name}-decoder", daemon=True),
        ]
        self.sock.setblocking(True)
        self.sock.settimeout(send_timeout)  # bounds sendall; the reader just loops on timeouts
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # --- ibapi's Connection interface (EClient.sendMsg / isConnected) --------------------------

    def isConnected(self) -> bool:  # ibapi's name
        return not self._closing

    def sendMsg(self, msg: bytes) -> int:  # ibapi's name
        with self._send_lock:
            if self._closing:
                raise ConnectionError("the TWS connection is closed")
            try:
                self.sock.sendall(msg)
            except OSError as exc:  # a timeout may have sent part of it: the stream is lost
                self.close(f"send failed: {exc or type(exc).__name__}")
                raise
        return len(msg)

    def disconnect(self) -> None:
        self.close("disconnect requested")

    # --- life cycle ----------------------------------------------------------------------------

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def close(self, reason: str, *, drain: bool = False) -> bool:
        """End the link (thread-safe, idempotent). True for the call that ended it."""
        with self._state_lock:
            if not drain:
                self._aborted = True
            if self._closing:
                return False
            self._closing = True
            self.reason = reason
            with contextlib.suppress(OSError):  # under the lock: the reader closes it under it
                self.sock.shutdown(socket.SHUT_RDWR)
        logger.info("TWS link closing: %s", reason)
        if not drain:
            with contextlib.suppress(queue.Full):  # wake a decoder that waits for a batch
                self._batches.put_nowait(None)
        return True

    def close_unstarted(self, reason: str) -> None:
        """Close a link whose threads never ran (its handshake completed, startApi failed)."""
        self.close(reason)
        self.sock.close()

    def join(self, timeout: float) -> bool:
        """Wait for both threads; True if they are gone."""
        for thread in self._threads:
            if thread.is_alive() and thread is not threading.current_thread():
                thread.join(timeout)
        return not any(thread.is_alive() for thread in self._threads)

    @property
    def threads(self) -> tuple[threading.Thread, ...]:
        return tuple(self._threads)

    # --- thread bodies -------------------------------------------------------------------------

    def _stopped(self) -> bool:
        return self._aborted

    def _skipped(self, msg_id: int, field_count: int, exc: Exception) -> None:
        self.decode_errors += 1

    def _read(self) -> None:
        reason = "reader thread failed"
        try:
            if not self._early or put_batch(self._batches, self._early, self._stopped):
                reason = reader_loop(self.sock, self._framer, self._batches, self._stopped)
        except Exception:
            logger.exception("TWS reader thread failed")
        finally:
            self.close(reason, drain=True)  # the reason first, then the end marker
            put_batch(self._batches, None, self._stopped)
            with self._send_lock, self._state_lock:
                self.sock.close()

    def _decode(self) -> None:
        try:
            decoder_loop(
                self.decoder,
                self.server_version,
                self._batches,
                self._stopped,
                self._skipped,
                self.bursts,
                self.fast,
            )
        except Exception:
            logger.exception("TWS decoder thread failed")
            self.close("decoder thread failed")
        finally:
            self.close("decoder stopped")
            with contextlib.suppress(queue.Empty):  # make room for a reader waiting to put
                while True:
                    self._batches.get_nowait()
            self._threads[0].join(2.0)  # the reader ends once the socket is shut down
            try:
                self._on_end(self)
            except Exception:
                logger.exception("TWS link end callback failed")
