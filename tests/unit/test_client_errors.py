"""gRPC statuses with google.rpc.ErrorInfo become the right BrokerError, with IB's code."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from ibkr_broker.client import BrokerClient, errors
from ibkr_broker.client.errors import (
    AmbiguousContractError,
    AuthenticationError,
    BrokerError,
    ContractNotFoundError,
    DeadlineExceededError,
    DuplicateRequestError,
    InvalidOrderError,
    NotFoundError,
    OrderNotFoundError,
    OrderRejectedError,
    OutOfRangeError,
    PermissionDeniedError,
    RateLimitedError,
    UnavailableError,
)

from tests.unit.client_fake import Failure, FakeServer

pytestmark = pytest.mark.timeout(20)
C = grpc.StatusCode


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (C.NOT_FOUND, "CONTRACT_NOT_FOUND", ContractNotFoundError),
        (C.NOT_FOUND, "ORDER_NOT_FOUND", OrderNotFoundError),
        (C.NOT_FOUND, "", NotFoundError),
        (C.FAILED_PRECONDITION, "AMBIGUOUS_CONTRACT", AmbiguousContractError),
        (C.INVALID_ARGUMENT, "AMBIGUOUS_CONTRACT", AmbiguousContractError),
        (C.FAILED_PRECONDITION, "ORDER_REJECTED", OrderRejectedError),
        (C.INVALID_ARGUMENT, "INVALID_ARGUMENT", InvalidOrderError),
        (C.INVALID_ARGUMENT, "", InvalidOrderError),
        (C.ALREADY_EXISTS, "DUPLICATE_REQUEST", DuplicateRequestError),
        (C.ALREADY_EXISTS, "", DuplicateRequestError),
        (C.UNAVAILABLE, "NOT_CONNECTED", UnavailableError),
        (C.UNAVAILABLE, "", UnavailableError),
        (C.RESOURCE_EXHAUSTED, "RATE_LIMITED", RateLimitedError),
        (C.RESOURCE_EXHAUSTED, "", RateLimitedError),
        (C.PERMISSION_DENIED, "PERMISSION_DENIED", PermissionDeniedError),
        (C.UNAUTHENTICATED, "", AuthenticationError),
        (C.DEADLINE_EXCEEDED, "", DeadlineExceededError),
        (C.OUT_OF_RANGE, "", OutOfRangeError),
        (C.INTERNAL, "", BrokerError),
        (C.INTERNAL, "SOMETHING_NEW", BrokerError),
    ],
)
def test_reason_decides_then_code(
    server: FakeServer, code: grpc.StatusCode, reason: str, expected: type[BrokerError]
) -> None:
    server.broker.fail("GetOrder", Failure(code, "it failed", reason, ib_code=201, field="x"))
    with (
        BrokerClient(config=server.config(retries=0)) as client,
        pytest.raises(BrokerError) as caught,
    ):
        client.get_order("ord-1")
    error = caught.value
    assert type(error) is expected
    assert error.code is code
    assert error.reason == reason
    assert error.message == "it failed"
    # ErrorInfo metadata only travels with a reason (the fake sends it only then).
    assert error.ib_code == (201 if reason else None)
    assert error.field == ("x" if reason else None)
    assert error.retryable is (code in (C.UNAVAILABLE, C.RESOURCE_EXHAUSTED))


def test_order_rejection_carries_ib_code_and_one_line(server: FakeServer) -> None:
    server.broker.fail(
        "GetOrder",
        Failure(C.FAILED_PRECONDITION, "Order rejected:\nno trading permissions", "ORDER_REJECTED",
                ib_code=201),
    )  # fmt: skip
    with BrokerClient(config=server.config()) as client, pytest.raises(OrderRejectedError) as e:
        client.get_order("ord-1")
    assert e.value.ib_code == 201
    assert e.value.one_line() == "ORDER_REJECTED (IB 201): Order rejected: no trading permissions"
    assert "ib_code=201" in repr(e.value)


def test_invalid_argument_names_the_field(server: FakeServer) -> None:
    server.broker.fail(
        "GetOrder",
        Failure(C.INVALID_ARGUMENT, "quantity must be positive", "INVALID_ARGUMENT",
                field="order.quantity"),
    )  # fmt: skip
    with BrokerClient(config=server.config()) as client, pytest.raises(InvalidOrderError) as e:
        client.get_order("ord-1")
    assert e.value.field == "order.quantity"
    assert e.value.ib_code is None
    assert "field order.quantity" in e.value.one_line()


def test_error_info_decoder_is_wire_compatible_with_google_rpc() -> None:
    info = error_details_pb2.ErrorInfo(
        reason="RATE_LIMITED", domain="ibkr-broker", metadata={"ib_code": "100", "a": "b"}
    )
    other = any_pb2.Any()
    other.Pack(error_details_pb2.RetryInfo())
    packed = any_pb2.Any()
    packed.Pack(info)
    status = status_pb2.Status(code=8, message="slow down", details=[other, packed])
    assert errors.error_info_from_status_bytes(status.SerializeToString()) == (
        "RATE_LIMITED",
        {"ib_code": "100", "a": "b"},
    )
    assert errors.error_info_from_status_bytes(b"\xff\xff garbage") is None
    assert (
        errors.error_info_from_status_bytes(status_pb2.Status(code=8).SerializeToString()) is None
    )
    assert errors.error_info_from_metadata([("other", "x")]) is None
    assert errors.error_info_from_metadata(None) is None


def test_a_non_numeric_ib_code_is_ignored() -> None:
    class FakeCall(grpc.RpcError):
        def code(self) -> grpc.StatusCode:
            return C.FAILED_PRECONDITION

        def details(self) -> str:
            return "no"

        def trailing_metadata(self) -> object:
            info = error_details_pb2.ErrorInfo(reason="ORDER_REJECTED", metadata={"ib_code": "x"})
            packed = any_pb2.Any()
            packed.Pack(info)
            status = status_pb2.Status(code=9, message="no", details=[packed])
            return [("grpc-status-details-bin", status.SerializeToString())]

    error = errors.from_rpc_error(FakeCall(), request_id="r-1")
    assert isinstance(error, OrderRejectedError)
    assert error.ib_code is None
    assert error.request_id == "r-1"


def test_an_rpc_error_without_call_details_still_maps() -> None:
    error = errors.from_rpc_error(grpc.RpcError("bare"))
    assert type(error) is BrokerError
    assert error.code is None
    assert error.one_line() == "ERROR: bare"


def test_connection_refused_is_unavailable() -> None:
    from tests.unit.client_fake import free_port_target

    config = FakeServer(None, 0).config(target=free_port_target(), retries=1, timeout=2.0)  # type: ignore[arg-type]
    with BrokerClient(config=config) as client, pytest.raises(UnavailableError) as caught:
        client.status()
    assert caught.value.retryable


def test_a_too_large_message_is_not_worth_retrying() -> None:
    too_big = errors.RateLimitedError(
        "Received message larger than max (5242979 vs. 4194304)",
        code=C.RESOURCE_EXHAUSTED,
    )
    assert not too_big.retryable
    assert errors.RateLimitedError("pacing", code=C.RESOURCE_EXHAUSTED).retryable
