"""BrokerService registered with request decoding inside the servicer's error boundary.

grpcio decodes a request body before the handler runs, and a body that does not decode ends
the call with UNKNOWN from grpcio itself: no ErrorInfo, no field, not in the audit log. Here
each method's deserializer never raises: a body that does not decode becomes an `Undecodable`
value, which the servicer's one error boundary answers with INVALID_ARGUMENT and a BadRequest
like any other bad field (the auth interceptor and the audit log see the call as usual).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from ibkr_broker.v1 import broker_service_pb2 as pb

from ..domain.errors import InvalidArgument

SERVICE = pb.DESCRIPTOR.services_by_name["BrokerService"]
MAX_DETAIL = 200  # characters of the decoder's message kept in the answer


@dataclass(frozen=True)
class Undecodable:
    """A request body that is not a valid message of the method's request type."""

    type_name: str
    problem: str

    def error(self) -> InvalidArgument:
        return InvalidArgument(
            "request", f"the body is not a valid {self.type_name}: {self.problem[:MAX_DETAIL]}"
        )


def tolerant(message_type: Any) -> Callable[[bytes], Any]:
    """A deserializer that answers `Undecodable` instead of raising."""
    name = message_type.DESCRIPTOR.full_name

    def deserialize(body: bytes) -> Any:
        try:
            return message_type.FromString(body)
        except Exception as exc:  # DecodeError, or upb's errors for bad UTF-8, depth, ...
            return Undecodable(name, str(exc) or type(exc).__name__)

    return deserialize


def add_broker_service(servicer: Any, server: grpc.aio.Server) -> None:
    """Register every BrokerService method of `servicer` (instead of the generated
    add_BrokerServiceServicer_to_server, whose deserializers raise)."""
    handlers = {}
    for method in SERVICE.methods:
        request_type = getattr(pb, method.input_type.name)
        response_type = getattr(pb, method.output_type.name)
        make = (
            grpc.unary_stream_rpc_method_handler
            if method.server_streaming
            else grpc.unary_unary_rpc_method_handler
        )
        handlers[method.name] = make(
            getattr(servicer, method.name),
            request_deserializer=tolerant(request_type),
            response_serializer=response_type.SerializeToString,
        )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE.full_name, handlers),)
    )
    server.add_registered_method_handlers(SERVICE.full_name, handlers)
