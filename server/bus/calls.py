"""One BrokerService call carried over NATS request/reply, in both directions.

Request: the serialized request message; headers `method` and the caller (`principal-name`,
`principal-role`) as the edge authenticated it. Reply: header `code` (a grpc.StatusCode name)
and, when OK, the serialized response; otherwise `message` and, when the gateway had one, the
google.rpc.Status (with its ErrorInfo, RetryInfo, BadRequest) as the payload.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.protobuf.message import Message
from ibkr_broker.v1 import broker_service_pb2 as pb

STATUS_DETAILS_KEY = "grpc-status-details-bin"
SERVICE = pb.DESCRIPTOR.services_by_name["BrokerService"]
UNARY_METHODS = {
    m.name: m for m in SERVICE.methods if not m.client_streaming and not m.server_streaming
}


def request_type(method: str) -> type[Message]:
    """The request class of a unary BrokerService method; KeyError when there is none."""
    from google.protobuf import message_factory

    cls: type[Message] = message_factory.GetMessageClass(UNARY_METHODS[method].input_type)
    return cls


def response_type(method: str) -> type[Message]:
    from google.protobuf import message_factory

    cls: type[Message] = message_factory.GetMessageClass(UNARY_METHODS[method].output_type)
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
