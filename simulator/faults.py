"""Fault injection: from tests (``server.faults`` / shortcuts on SimulatorServer) and from the
command line through the control port (one text command per line, loopback only).

Commands (case-insensitive), each answered with one line "ok ..." or "error ...":

    drop               close every client connection now
    restart SECONDS    go away: stop listening and drop everyone, come back after SECONDS on
                       the same port with orders, executions and the account intact
                       (IB Gateway's daily restart)
    notice CODE        send connectivity notice 1100 / 1101 / 1102 to every client
                       (1100 stops ticks; 1101 resumes and drops all subscriptions - data lost;
                       1102 resumes with subscriptions kept)
    delay MS           delay every response by MS milliseconds (0 = off)
    reject-next        reject the next order with error 201
    status             connections, client ids, orders, executions
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .server import SimulatorServer

log = logging.getLogger(__name__)

NOTICES = {
    1100: "Connectivity between IB and Trader Workstation has been lost.",
    1101: "Connectivity between IB and Trader Workstation has been restored - data lost.",
    1102: "Connectivity between IB and Trader Workstation has been restored - data maintained.",
}


class Faults:
    """Fault operations on one server."""

    def __init__(self, server: SimulatorServer) -> None:
        self.server = server
        self._comeback: asyncio.Task[None] | None = None

    async def cancel(self) -> None:
        """Cancel a pending come-back (the server is stopping)."""
        if self._comeback is not None:
            self._comeback.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._comeback
            self._comeback = None

    def drop_all(self) -> int:
        """Close every client connection; returns how many were closed."""
        sessions = self.server.connections()
        for s in sessions:
            s.close()
        log.warning("fault: dropped %d connection(s)", len(sessions))
        return len(sessions)

    async def go_away(self, seconds: float) -> None:
        """Stop listening and drop everyone; listen again on the same port after ``seconds``.
        Returns once the server is away (await ``server.listening.wait()`` for the return)."""
        server = self.server
        if self._comeback is not None:
            self._comeback.cancel()
        await server.unlisten()
        self.drop_all()
        log.warning("fault: away for %.1f s", seconds)

        async def come_back() -> None:
            await asyncio.sleep(seconds)
            for _ in range(100):
                try:
                    await server.listen()
                    log.warning("fault: back on port %d", server.port)
                    return
                except OSError:  # the port may linger briefly
                    await asyncio.sleep(0.05)
            log.error("fault: could not listen again on port %d", server.port)

        self._comeback = asyncio.create_task(come_back(), name="sim-comeback")

    def notice(self, code: int, text: str | None = None) -> None:
        """Send a connectivity notice (errMsg with reqId -1) to every connected client."""
        server = self.server
        if code == 1100:
            server.connectivity_lost = True
        elif code in (1101, 1102):
            server.connectivity_lost = False
        for s in server.sessions():
            if code == 1101:
                s.drop_market_data()
            s.send_error(-1, code, text or NOTICES.get(code, f"Notice {code}"))
        log.warning("fault: notice %d to %d client(s)", code, len(server.sessions()))

    def set_delay(self, ms: int) -> None:
        self.server.delay_ms = max(0, int(ms))
        log.warning("fault: response delay %d ms", self.server.delay_ms)

    def reject_next_order(self, reason: str = "Simulated rejection") -> None:
        self.server.exchange.reject_next_order(reason)

    async def command(self, line: str) -> str:
        """Execute one control-port command; returns the one-line answer."""
        parts = line.strip().split()
        if not parts:
            return "error empty command"
        cmd, args = parts[0].lower(), parts[1:]
        try:
            if cmd == "drop":
                return f"ok dropped {self.drop_all()}"
            if cmd == "restart":
                seconds = float(args[0]) if args else 5.0
                await self.go_away(seconds)
                return f"ok away for {seconds:g} s"
            if cmd == "notice":
                code = int(args[0])
                self.notice(code)
                return f"ok notice {code}"
            if cmd == "delay":
                self.set_delay(int(args[0]))
                return f"ok delay {self.server.delay_ms} ms"
            if cmd in ("reject-next", "reject_next", "reject"):
                self.reject_next_order(" ".join(args) or "Simulated rejection")
                return "ok next order will be rejected"
            if cmd == "status":
                s = self.server
                return (f"ok port={s.port} clients={s.client_ids()} "
                        f"orders={len(s.exchange.orders())} "
                        f"executions={len(s.exchange.executions())} "
                        f"ticks_sent={s.stats.ticks_sent}")
        except (IndexError, ValueError) as exc:
            return f"error bad arguments for {cmd}: {exc}"
        return f"error unknown command {cmd!r}"


class ControlServer:
    """The loopback control port: line commands for ``Faults.command``."""

    def __init__(self, faults: Faults, port: int, host: str = "127.0.0.1") -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the control port only listens on loopback")
        self.faults = faults
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while line := await reader.readline():
                answer = await self.faults.command(line.decode("utf-8", "replace"))
                log.info("control: %s -> %s", line.decode("utf-8", "replace").strip(), answer)
                writer.write(answer.encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
