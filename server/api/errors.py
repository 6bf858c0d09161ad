"""The one error boundary: every failed call becomes a gRPC status with a google.rpc.ErrorInfo
here, whether a handler raised a domain error (`to_status`, through the `unary` and `streaming`
decorators of the servicer) or the auth interceptor refused the call (`status`).

Only UNAVAILABLE and RESOURCE_EXHAUSTED are retryable, and carry a google.rpc.RetryInfo with a
suggested delay; INVALID_ARGUMENT also carries a google.rpc.BadRequest naming the field.
Anything that is not a domain error answers INTERNAL and is logged, never shown. A request body
that did not decode (decoding.Undecodable) is INVALID_ARGUMENT like any bad field.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from ..domain import errors
from .decoding import Undecodable

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

DOMAIN = "ibkr-broker"

CODES: list[tuple[type[errors.BrokerError], grpc.StatusCode]] = [
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.AmbiguousContract, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.OrderRejected, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.TradingDisabled, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.RiskLimitBreached, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
    (errors.RateLimited, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.Conflict, grpc.StatusCode.ALREADY_EXISTS),
    (errors.JournalGap, grpc.StatusCode.OUT_OF_RANGE),
]


def status(
    code: grpc.StatusCode,
    reason: str,
    message: str,
    metadata: Mapping[str, str] | None = None,
    details: Sequence[Message] = (),
) -> grpc.Status:
    """A failed call's status: `code`, `message`, an ErrorInfo (`reason`, domain, `metadata`)
    and then any further `details` (RetryInfo, BadRequest)."""
    info = error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN, metadata=metadata or {})
    proto = status_pb2.Status(
        code=getattr(code_pb2, code.name),
        message=message,
        details=[_pack(d) for d in (info, *details)],
    )
    return rpc_status.to_status(proto)


def status_code(error: errors.BrokerError) -> grpc.StatusCode:
    for cls, code in CODES:
        if isinstance(error, cls):
            return code
    return grpc.StatusCode.FAILED_PRECONDITION if error.ib_code else grpc.StatusCode.INTERNAL


def to_status(error: errors.BrokerError) -> grpc.Status:
    """The status of a domain error."""
    metadata = dict(error.metadata)
    if error.ib_code:
        metadata["ib_code"] = str(error.ib_code)
    if error.field:
        metadata["field"] = error.field
    details: list[Message] = []
    if error.retryable:
        delay = duration_pb2.Duration(seconds=1 if isinstance(error, errors.RateLimited) else 2)
        details.append(error_details_pb2.RetryInfo(retry_delay=delay))
    if isinstance(error, errors.InvalidArgument):
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=error.field, description=error.message
        )
        details.append(error_details_pb2.BadRequest(field_violations=[violation]))
    return status(status_code(error), error.reason, error.message, metadata, details)


def _pack(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


# --- the boundary around the handlers ----------------------------------------------------------


async def abort(context: grpc.aio.ServicerContext, name: str, exc: Exception) -> NoReturn:
    """End a failed call: a domain error with its status, anything else as INTERNAL (logged)."""
    if isinstance(exc, errors.BrokerError):
        await context.abort_with_status(to_status(exc))
    log.error("%s failed", name, exc_info=exc)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error (logged by the server)")
    raise AssertionError("abort returned")  # pragma: no cover


def unary(method: F) -> F:
    """A unary handler whose failures pass the boundary."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            if isinstance(request, Undecodable):
                raise request.error()
            return await method(self, request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await abort(context, method.__name__, exc)

    return wrapper  # type: ignore[return-value]


def streaming(method: F) -> F:
    """The same for server-streaming handlers."""

    @functools.wraps(method)
    async def wrapper(
        self: Any, request: Any, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Any]:
        try:
            if isinstance(request, Undecodable):
                raise request.error()
            async for item in method(self, request, context):
                yield item
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await abort(context, method.__name__, exc)

    return wrapper  # type: ignore[return-value]
