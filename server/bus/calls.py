"""One BrokerService call carried over NATS, in both directions.

A unary call is a request/reply. Request: the serialized request message; headers `method` and
the caller (`principal-name`, `principal-role`) as the edge authenticated it. Reply: header
`code` (a grpc.StatusCode name) and, when OK, the serialized response; otherwise `message` and,
when the gateway had one, the google.rpc.Status (with its ErrorInfo, RetryInfo, BadRequest) as
the payload.

A server-streaming call (StreamBars, StreamPnL, StreamMarketDepth) is opened by a request of
the same form with the header `stream` (an inbox of the edge); the gateway runs the stream and
publishes to that inbox each response (header `n`: 1, 2, ...) and at the end one message with
`end`, `n` and the status as a unary reply carries it. streams.py has the liveness rules.

BusCall stands in for the gRPC call context when a gateway runs a call from the bus, so the
servicer's own handlers serve it (no handler exists twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import Message
from ibkr_broker.v1 import broker_service_pb2 as pb

STATUS_DETAILS_KEY = "grpc-status-details-bin"
SERVICE = pb.DESCRIPTOR.services_by_name["BrokerService"]
UNARY_METHODS = {
    m.name: m for m in SERVICE.methods if not m.client_streaming and not m.server_streaming
}
# The streams an edge forwards to a gateway (StreamQuotes and StreamOrderEvents it serves from
# the bus itself: quote lines and the order-event stream are shared by every client).
RELAYED_STREAMS = {
    m.name: m for m in SERVICE.methods if m.name in ("StreamBars", "StreamPnL", "StreamMarketDepth")
}
_METHODS = {**UNARY_METHODS, **RELAYED_STREAMS}


def request_type(method: str) -> type[Message]:
    """The request class of a unary or relayed BrokerService method; KeyError when none."""
    from google.protobuf import message_factory

    cls: type[Message] = message_factory.GetMessageClass(_METHODS[method].input_type)
    return cls


def response_type(method: str) -> type[Message]:
    from google.protobuf import message_factory

    cls: type[Message] = message_factory.GetMessageClass(_METHODS[method].output_type)
    return cls


@dataclass(frozen=True)
class Reply:
    """What a gateway answered: a response, or a failed call's code, message and details."""

    code: grpc.StatusCode
    payload: bytes
    message: str = ""

    def headers(self) -> dict[str, str]:
        return {"code": self.code.name, "message": self.message}

    @classmethod
    def from_headers(cls, headers: dict[str, str] | None, payload: bytes) -> Reply:
        headers = headers or {}
        name = headers.get("code", "")
        code = grpc.StatusCode[name] if name in grpc.StatusCode.__members__ else None
        if code is None:
            return cls(grpc.StatusCode.INTERNAL, b"", f"the gateway's reply has no code ({name!r})")
        return cls(code, payload, headers.get("message", ""))


def status_of(code: grpc.StatusCode, message: str, trailing: object) -> Reply:
    """A failed call as a Reply, keeping the google.rpc.Status details from trailing metadata."""
    details = b""
    for key, value in trailing or ():  # type: ignore[attr-defined]
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            details = value
    return Reply(code, details, message)


class BusAbort(grpc.aio.AbortError):
    """A handler ended its call (context.abort*); carries the reply to send back."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.message)
        self.reply = reply


class BusCall:
    """The part of grpc.aio.ServicerContext the servicer's handlers use, for a bus call."""

    def __init__(self, peer: str) -> None:
        self._peer = peer

    def peer(self) -> str:
        return self._peer

    def invocation_metadata(self) -> tuple[()]:
        return ()

    def time_remaining(self) -> float | None:
        return None

    async def abort(self, code: grpc.StatusCode, details: str = "", *_: Any) -> None:
        raise BusAbort(Reply(code, b"", details))

    async def abort_with_status(self, status: grpc.Status) -> None:
        raise BusAbort(status_of(status.code, status.details, status.trailing_metadata))
