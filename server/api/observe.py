"""A server interceptor that reports every finished call: method, status code, ErrorInfo reason
and duration (unary calls and streams alike). It knows nothing of Prometheus: the app passes a
callback (server/metrics.py turns the reports into the grpc_server_* series).

Put it first among the interceptors, so calls refused by authentication are reported too.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2

Behavior = Callable[..., Any]
# When the current unary call's handler started (time.monotonic()): what the call does below
# (e.g. a PlaceOrder's order entering the journal) can measure from the call's arrival.
call_started: contextvars.ContextVar[float] = contextvars.ContextVar("call_started")


@dataclass(frozen=True)
class CallReport:
    service: str  # e.g. "ibkr_broker.v1.BrokerService"
    method: str  # e.g. "PlaceOrder"
    kind: str  # "unary" | "server_stream" | "client_stream" | "bidi_stream"
    code: str  # gRPC status code name, e.g. "OK", "FAILED_PRECONDITION"
    reason: str  # the google.rpc.ErrorInfo reason when there is one, else ""
    seconds: float  # from the handler's start to its end (a stream's whole life)


KINDS = {
    (False, False): ("unary", "unary_unary", grpc.unary_unary_rpc_method_handler),
    (False, True): ("server_stream", "unary_stream", grpc.unary_stream_rpc_method_handler),
    (True, False): ("client_stream", "stream_unary", grpc.stream_unary_rpc_method_handler),
    (True, True): ("bidi_stream", "stream_stream", grpc.stream_stream_rpc_method_handler),
}


class CallObserver(grpc.aio.ServerInterceptor):
    def __init__(self, report: Callable[[CallReport], None]) -> None:
        self.report = report

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler  # unknown method: gRPC answers UNIMPLEMENTED
        service, _, method = handler_call_details.method.lstrip("/").partition("/")
        kind, attr, make = KINDS[(handler.request_streaming, handler.response_streaming)]
        behavior: Behavior = getattr(handler, attr)
        finish = _Finish(self.report, service, method, kind)
        wrapped = (
            _wrap_generator(behavior, finish)
            if inspect.isasyncgenfunction(behavior)
            else _wrap_coroutine(behavior, finish)
        )
        result: grpc.RpcMethodHandler = make(
            wrapped,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        return result


class _Finish:
    def __init__(
        self, report: Callable[[CallReport], None], service: str, method: str, kind: str
    ) -> None:
        self.report = report
        self.service, self.method, self.kind = service, method, kind

    def __call__(
        self, context: grpc.aio.ServicerContext, error: BaseException | None, started: float
    ) -> None:
        code, reason = call_result(context, error)
        self.report(
            CallReport(
                self.service, self.method, self.kind, code, reason, time.monotonic() - started
            )
        )


def _wrap_coroutine(behavior: Behavior, finish: _Finish) -> Behavior:
    async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
        started = time.monotonic()
        token = call_started.set(started)
        error: BaseException | None = None
        try:
            return await behavior(request, context)
        except BaseException as exc:
            error = exc
            raise
        finally:
            call_started.reset(token)
            finish(context, error, started)

    return call


def _wrap_generator(behavior: Behavior, finish: _Finish) -> Behavior:
    async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        started = time.monotonic()
        error: BaseException | None = None
        try:
            async for item in behavior(request, context):
                yield item
        except BaseException as exc:
            error = exc
            raise
        finally:
            finish(context, error, started)

    return stream


def call_result(context: grpc.aio.ServicerContext, error: BaseException | None) -> tuple[str, str]:
    """(status code name, ErrorInfo reason) of a finished call."""
    if isinstance(error, asyncio.CancelledError | GeneratorExit):
        return ("CANCELLED", "")  # the client went away (or cancelled) mid-call
    if error is not None and not isinstance(error, grpc.aio.AbortError):
        return ("UNKNOWN", "")  # gRPC answers an exception escaping the handler with UNKNOWN
    code = context.code()
    if not isinstance(code, grpc.StatusCode) or code is grpc.StatusCode.OK:
        return ("OK", "") if error is None else ("UNKNOWN", "")
    return (code.name, error_reason(context.trailing_metadata()))


def error_reason(trailing: Sequence[tuple[str, str | bytes]] | None) -> str:
    """The google.rpc.ErrorInfo reason in a call's trailing metadata, or ""."""
    for key, value in trailing or ():
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            for detail in status_pb2.Status.FromString(value).details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return str(info.reason)
    return ""
