"""BrokerService registered from its descriptor, with StreamQuotes' pass-through serializer
(quote batches arrive already encoded, `quote_wire.py`); every other method as generated."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from ibkr_broker.v1 import broker_service_pb2 as pb

from . import quote_wire

SERVICE = pb.DESCRIPTOR.services_by_name["BrokerService"]
PRE_ENCODED = {"StreamQuotes"}  # methods whose handler may yield bytes already encoded


def response_serializer(method: str, response_type: Any) -> Callable[[Any], bytes]:
    if method in PRE_ENCODED:
        return quote_wire.serialize
    serialize: Callable[[Any], bytes] = response_type.SerializeToString
    return serialize


def add_broker_service(servicer: Any, server: grpc.aio.Server) -> None:
    """Register every BrokerService method of `servicer` (in place of the generated
    add_BrokerServiceServicer_to_server)."""
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
            request_deserializer=request_type.FromString,
            response_serializer=response_serializer(method.name, response_type),
        )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE.full_name, handlers),)
    )
    server.add_registered_method_handlers(SERVICE.full_name, handlers)
