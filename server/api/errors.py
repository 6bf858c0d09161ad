"""The one boundary from domain errors to gRPC statuses with a google.rpc.ErrorInfo.

Only UNAVAILABLE and RESOURCE_EXHAUSTED are retryable, and carry a google.rpc.RetryInfo with a
suggested delay; INVALID_ARGUMENT also carries a google.rpc.BadRequest naming the field.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from ..domain import errors
from ..session.journal import JournalGap

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
    (JournalGap, grpc.StatusCode.OUT_OF_RANGE),
]


def status_code(error: errors.BrokerError) -> grpc.StatusCode:
    for cls, code in CODES:
        if isinstance(error, cls):
            return code
    return grpc.StatusCode.FAILED_PRECONDITION if error.ib_code else grpc.StatusCode.INTERNAL


def to_status(error: errors.BrokerError) -> grpc.Status:
    code = status_code(error)
    metadata = dict(error.metadata)
    if error.ib_code:
        metadata["ib_code"] = str(error.ib_code)
    if error.field:
        metadata["field"] = error.field
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=metadata)
    details = [_pack(info)]
    if error.retryable:
        delay = duration_pb2.Duration(seconds=1 if isinstance(error, errors.RateLimited) else 2)
        details.append(_pack(error_details_pb2.RetryInfo(retry_delay=delay)))
    if isinstance(error, errors.InvalidArgument):
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=error.field, description=error.message
        )
        details.append(_pack(error_details_pb2.BadRequest(field_violations=[violation])))
    status = status_pb2.Status(
        code=getattr(code_pb2, code.name), message=error.message, details=details
    )
    return rpc_status.to_status(status)


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed
