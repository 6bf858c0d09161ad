"""The BrokerService of an edge: every unary call goes to the gateway that owns the account
(which runs it through its own BrokerServicer, so no handler is written twice); StreamQuotes and
StreamOrderEvents are served from the bus (shared by every client); StreamBars, StreamPnL and
StreamMarketDepth are run by the gateway's own servicer and relayed (edge_streams.py). Auth,
TLS, roles and the audit log are the gRPC server's interceptor, the same one the gateway uses
(server/edge_app.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import status_pb2
from grpc_status import rpc_status
from ibkr_broker.v1 import broker_service_pb2 as pb
from ibkr_broker.v1 import broker_service_pb2_grpc, common_pb2

from ..api import quote_wire
from ..api import validate as v
from ..api.auth import current_principal
from ..api.errors import streaming, unary
from ..domain import errors
from ..session.fan_out import IdleWaiter, Signal, wait_any
from . import routing
from .calls import RELAYED_STREAMS, UNARY_METHODS, response_type
from .edge_backend import CallFailed, EdgeBackend
from .edge_streams import RemoteStream

MAX_STREAM_CONTRACTS = 500
MAX_BATCH = 500
Handler = Callable[[Any, Message, Any], Coroutine[Any, Any, Message]]
StreamHandler = Callable[[Any, Message, Any], AsyncIterator[Message]]


async def pass_on(context: Any, failed: CallFailed) -> None:
    """End the call with the gateway's status, details and all."""
    reply = failed.reply
    if reply.payload:
        await context.abort_with_status(
            rpc_status.to_status(status_pb2.Status.FromString(reply.payload))
        )
    await context.abort(reply.code, reply.message)


def forwarded(method: str) -> Handler:
    """A handler that forwards `method` to the gateway and returns its response."""

    async def handler(self: EdgeServicer, request: Message, context: Any) -> Message:
        try:
            return await self.dispatch(method, request, context)
        except CallFailed as failed:
            await pass_on(context, failed)
            raise

    handler.__name__ = method
    return unary(handler)


def relayed(method: str) -> StreamHandler:
    """A handler that has the gateway run the stream `method` and relays what it sends."""

    async def handler(self: EdgeServicer, request: Message, context: Any) -> AsyncIterator[Any]:
        try:
            async for response in self.relay(method, request, context):
                yield response
        except CallFailed as failed:
            await pass_on(context, failed)
            raise

    handler.__name__ = method
    return streaming(handler)


def principal_headers() -> dict[str, str]:
    principal = current_principal()
    if principal is None:
        return {}
    return {"principal-name": principal.name, "principal-role": principal.role}


def now_ts() -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(datetime.now(UTC))
    return ts


class EdgeServicer(broker_service_pb2_grpc.BrokerServiceServicer):
    def __init__(self, backend: EdgeBackend, heartbeat_interval: float = 5.0) -> None:
        self.backend = backend
        self.heartbeat_interval = heartbeat_interval
        self.draining = Signal()  # set once, when the edge drains

    async def dispatch(self, method: str, request: Message, context: Any) -> Message:
        """Run a unary call on the gateway(s) that routing.py picks."""
        out = response_type(method)
        account = routing.account_of(request, context.invocation_metadata() or ())
        live = sorted(self.backend.live())
        if account or len(live) <= 1:
            gateways = [self.backend.route(account)]
        elif method in routing.ANY_GATEWAY:
            gateways = [self.backend.any_gateway("")]
        elif method in routing.FAN_OUT:
            gateways = live
        elif method in routing.BY_ORDER:
            gateways = [await self._owner(routing.order_lookup(method, request), live, context)]
        else:
            gateways = [self.backend.route("")]  # refuses: name the account
        answers = [
            await self._answer(method, gateway, request, context, out, len(gateways) > 1)
            for gateway in gateways
        ]
        return answers[0] if len(answers) == 1 else routing.merge(method, answers)

    async def _answer(
        self,
        method: str,
        gateway: str,
        request: Message,
        context: Any,
        out: type[Message],
        several: bool,
    ) -> Message:
        """One gateway's answer. Asked for the status of several, a gateway that does not
        answer is listed as disconnected, with why, instead of failing the whole call."""
        try:
            data = await self.backend.call(
                method, gateway, request, current_principal(), context.time_remaining()
            )
        except (CallFailed, errors.BrokerError) as exc:
            if method != "GetStatus" or not several:
                raise
            entry = self.backend.live().get(gateway, {})
            return routing.silent_gateway_status(gateway, entry, str(exc))
        return out.FromString(data)

    async def _owner(self, lookup: pb.GetOrderRequest, live: list[str], context: Any) -> str:
        """The one gateway that knows the order."""
        owners = []
        for gateway in live:
            try:
                await self.backend.call("GetOrder", gateway, lookup, current_principal(), 10.0)
                owners.append(gateway)
            except CallFailed as failed:
                if failed.reply.code is not grpc.StatusCode.NOT_FOUND:
                    raise
        if not owners:
            raise errors.OrderNotFound(f"no order {lookup.order_id or lookup.request_id!r}")
        if len(owners) > 1:
            raise errors.InvalidArgument(
                "order_id",
                f"order {lookup.order_id!r} exists for several accounts ({', '.join(owners)}): "
                "name the account in the ibkr-account metadata",
            )
        return owners[0]

    @streaming
    async def StreamOrderEvents(
        self, request: pb.StreamOrderEventsRequest, context: Any
    ) -> AsyncIterator[pb.StreamOrderEventsResponse]:
        account = v.text("account", request.account, limit=32)
        first, last = await self.backend.event_window()
        resume = request.resume_after_sequence
        if resume > last:
            raise errors.JournalGap(
                f"resume_after_sequence {resume} is ahead of the last event ({last}) on the "
                "bus: start afresh"
            )
        if resume and last and resume + 1 < first:
            raise errors.JournalGap(
                f"resume_after_sequence {resume} has left the bus's window (it starts at "
                f"{first}): start afresh"
            )
        cursor = request.resume_after_sequence or last
        yield pb.StreamOrderEventsResponse(
            sequence=cursor,
            status=common_pb2.SessionStatus(
                connection_state=common_pb2.CONNECTION_STATE_READY,
                message=f"streaming order events after sequence {cursor} (edge)",
            ),
        )
        idle_since = asyncio.get_running_loop().time()
        async for sequence, event in self.backend.order_events(account, cursor):
            if self.draining.is_set():
                return
            now = asyncio.get_running_loop().time()
            if event is not None:
                cursor, idle_since = sequence, now
                yield pb.StreamOrderEventsResponse(sequence=cursor, event=event)
            elif now - idle_since >= self.heartbeat_interval:
                idle_since = now
                yield pb.StreamOrderEventsResponse(
                    sequence=cursor, heartbeat=common_pb2.Heartbeat(server_time=now_ts())
                )

    @streaming
    async def StreamQuotes(
        self, request: pb.StreamQuotesRequest, context: Any
    ) -> AsyncIterator[pb.StreamQuotesResponse | bytes]:
        if not request.contracts:
            raise errors.InvalidArgument("contracts", "give at least one contract")
        if len(request.contracts) > MAX_STREAM_CONTRACTS:
            raise errors.InvalidArgument("contracts", f"at most {MAX_STREAM_CONTRACTS}")
        try:
            con_ids = await self.backend.want_quotes("", request)
        except CallFailed as failed:
            await pass_on(context, failed)
            raise
        reader = await self.backend.open_quotes("", con_ids)
        renew = asyncio.create_task(self._renew(request))
        sequence = 0
        waiter = IdleWaiter((reader.wake, self.draining), self.heartbeat_interval)
        try:
            while not self.draining.is_set():
                fields, coalesced = reader.take()
                for start in range(0, len(fields), MAX_BATCH):
                    sequence += 1
                    yield quote_wire.quotes_response(  # bytes, shared by every reader
                        sequence, fields[start : start + MAX_BATCH], coalesced if start == 0 else 0
                    )
                if await waiter.wait():
                    continue  # woken in the backend's fan-out turn
                if not self.draining.is_set():
                    sequence += 1
                    yield pb.StreamQuotesResponse(
                        sequence=sequence, heartbeat=common_pb2.Heartbeat(server_time=now_ts())
                    )
        finally:
            waiter.close()
            renew.cancel()
            await self.backend.close_quotes(reader)

    async def _renew(self, request: pb.StreamQuotesRequest) -> None:
        """Keep telling the gateway these quotes are wanted (its lines expire otherwise)."""
        while True:
            # Every 10 s (well inside the gateway's 30 s), and at once when a gateway is
            # replaced (a standby took over: it has no quote lines yet).
            await self.backend.gateways_changed(10.0)
            try:
                await self.backend.want_quotes("", request)
            except Exception as exc:  # the stream goes on; the next renewal tries again
                asyncio.get_running_loop().call_exception_handler(
                    {"message": "quote interest renewal failed", "exception": exc}
                )

    async def relay(self, method: str, request: Message, context: Any) -> AsyncIterator[Message]:
        """The responses of the stream the gateway(s) run, numbered here (with one gateway the
        numbers are the gateway's own); CallFailed with the gateway's status when it fails."""
        out = response_type(method)
        parts = self._stream_parts(method, request, context.invocation_metadata() or ())
        streams: list[RemoteStream] = []
        backend = self.backend.streams
        assert backend is not None, "the edge's backend is not started"
        try:
            for gateway, part in parts:
                streams.append(await backend.open(method, gateway, part, principal_headers()))
            sequence = 0
            while not self.draining.is_set():
                for stream in streams:
                    for data in stream.take():
                        sequence += 1
                        message = out.FromString(data)
                        message.sequence = sequence  # every stream message has one
                        yield message
                failed = [
                    s.end
                    for s in streams
                    if s.done and s.end and s.end.code is not grpc.StatusCode.OK
                ]
                if failed:
                    raise CallFailed(failed[0])
                if all(s.done for s in streams):
                    return
                await wait_any((*(s.wake for s in streams), self.draining), self.heartbeat_interval)
        finally:
            for stream in streams:
                await backend.close(stream)

    def _stream_parts(
        self, method: str, request: Message, metadata: Any
    ) -> list[tuple[str, Message]]:
        """Which gateway runs the stream, with which request. StreamPnL goes to the gateway of
        each account it names (each gets its own accounts), or to every gateway when it names
        none; bars and depth go to the account's gateway, else to any (market data is the
        same for every login)."""
        account = routing.account_of(request, metadata)
        live = sorted(self.backend.live())
        if not isinstance(request, pb.StreamPnLRequest) or len(live) <= 1 or account:
            return [(self.backend.any_gateway(account), request)]
        if not request.account_ids:
            return [(gateway, request) for gateway in live]
        by_gateway: dict[str, list[str]] = {}
        for i, name in enumerate(request.account_ids):
            try:
                gateway = self.backend.route(name)
            except errors.Unavailable:
                raise errors.InvalidArgument(
                    f"account_ids[{i}]", f"{name} is not managed"
                ) from None
            by_gateway.setdefault(gateway, []).append(name)
        parts: list[tuple[str, Message]] = []
        for gateway, names in by_gateway.items():
            part = pb.StreamPnLRequest()
            part.CopyFrom(request)
            part.ClearField("account_ids")
            part.account_ids.extend(names)
            parts.append((gateway, part))
        return parts


for _name in UNARY_METHODS:
    setattr(EdgeServicer, _name, forwarded(_name))
for _name in RELAYED_STREAMS:
    setattr(EdgeServicer, _name, relayed(_name))
