"""BrokerClient against a scripted in-process server: calls, retries, request ids, streams."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest
from ibkr_broker.client import (
    BrokerClient,
    ClientConfig,
    ContractNotFoundError,
    InvalidOrderError,
    OrderNotFoundError,
    RateLimitedError,
    StreamReconnected,
    UnavailableError,
    bracket,
    combo,
    option,
    order_spec,
    stock,
)
from ibkr_broker.v1 import common_pb2, contract_pb2, order_pb2

from tests.unit.client_fake import (
    Failure,
    FakeBroker,
    FakeServer,
    order_event,
    quote,
    quote_batch,
    running_fake,
)

pytestmark = [pytest.mark.timeout(20), pytest.mark.usefixtures("no_client_env")]
C = grpc.StatusCode




@pytest.fixture
def client(server: FakeServer) -> Iterator[BrokerClient]:
    with BrokerClient(config=server.config()) as c:
        yield c


def limit_buy(quantity: int = 10) -> order_pb2.OrderSpec:
    return order_spec("buy", quantity, "limit", limit_price="190.5")


# --- request ids and retries ------------------------------------------------------------


def test_place_order_retry_after_unavailable_reuses_the_request_id(
    server: FakeServer, client: BrokerClient
) -> None:
    server.broker.fail("PlaceOrder", Failure(C.UNAVAILABLE, "TWS connection lost", "NOT_CONNECTED"))
    response = client.place_order(stock("AAPL"), limit_buy())
    calls = server.broker.calls_of("PlaceOrder")
    assert len(calls) == 2
    first, second = (c.request.request_id for c in calls)
    assert first == second
    assert uuid.UUID(first).version == 4
    assert server.broker.placed == 1
    assert response.order.request_id == first


def test_a_retry_that_reaches_a_server_which_had_placed_the_order_returns_the_first_order(
    server: FakeServer, client: BrokerClient
) -> None:
    first = client.place_order(stock("AAPL"), limit_buy(), request_id="my-key-1")
    again = client.place_order(stock("AAPL"), limit_buy(), request_id="my-key-1")
    assert again.order.order_id == first.order.order_id
    assert server.broker.placed == 1


@pytest.mark.parametrize(
    ("method", "call"),
    [
        ("ModifyOrder", lambda c, oid: c.modify_order(oid, limit_price=191)),
        ("CancelOrder", lambda c, oid: c.cancel_order(oid)),
        ("CancelAllOrders", lambda c, oid: c.cancel_all_orders()),
    ],
)
def test_every_mutating_call_keeps_its_request_id_across_retries(
    server: FakeServer, client: BrokerClient, method: str, call: Any
) -> None:
    order_id = client.place_order(stock("AAPL"), limit_buy()).order.order_id
    server.broker.fail(method, Failure(C.UNAVAILABLE, "down"), times=2)
    call(client, order_id)
    ids = [c.request.request_id for c in server.broker.calls_of(method)]
    assert len(ids) == 3
    assert len(set(ids)) == 1 and ids[0]


def test_resource_exhausted_is_retried_then_raised_with_the_request_id(
    server: FakeServer, client: BrokerClient
) -> None:
    server.broker.fail("PlaceOrder", Failure(C.RESOURCE_EXHAUSTED, "pacing", "RATE_LIMITED"), 9)
    with pytest.raises(RateLimitedError) as caught:
        client.place_order(stock("AAPL"), limit_buy())
    calls = server.broker.calls_of("PlaceOrder")
    assert len(calls) == 1 + client.config.retries
    assert {c.request.request_id for c in calls} == {caught.value.request_id}
    assert server.broker.placed == 0


@pytest.mark.parametrize(
    "failure",
    [
        Failure(C.INVALID_ARGUMENT, "bad", "INVALID_ARGUMENT", field="order.quantity"),
        Failure(C.FAILED_PRECONDITION, "rejected", "ORDER_REJECTED", ib_code=201),
        Failure(C.DEADLINE_EXCEEDED, "slow"),
        Failure(C.INTERNAL, "bug"),
    ],
)
def test_other_errors_are_not_retried(
    server: FakeServer, client: BrokerClient, failure: Failure
) -> None:
    server.broker.fail("PlaceOrder", failure)
    with pytest.raises(Exception) as caught:
        client.place_order(stock("AAPL"), limit_buy())
    assert len(server.broker.calls_of("PlaceOrder")) == 1
    assert caught.value.code is failure.code  # type: ignore[attr-defined]
    assert caught.value.request_id  # type: ignore[attr-defined]


def test_read_only_calls_are_retried_too(server: FakeServer, client: BrokerClient) -> None:
    server.broker.fail("GetStatus", Failure(C.UNAVAILABLE, "starting"), times=2)
    assert client.status().connection_state == common_pb2.CONNECTION_STATE_READY
    assert len(server.broker.calls_of("GetStatus")) == 3


def test_given_request_ids_are_checked(client: BrokerClient) -> None:
    with pytest.raises(ValueError, match="request_id"):
        client.place_order(stock("AAPL"), limit_buy(), request_id="x" * 65)
    with pytest.raises(ValueError, match="request_id"):
        client.cancel_order("ord-1", request_id="")


# --- every unary method -------------------------------------------------------------------


def test_queries(server: FakeServer, client: BrokerClient) -> None:
    status = client.status()
    assert status.paper_trading and list(status.accounts) == ["DU1234567"]
    matches = client.resolve_contract("AAPL")
    assert [m.contract.con_id for m in matches] == [265598]
    assert server.broker.calls_of("ResolveContract")[0].request.contract == stock("AAPL")
    with pytest.raises(ContractNotFoundError) as caught:
        client.resolve_contract(stock("NOPE"))
    assert caught.value.ib_code == 200
    chain = client.option_chain("AAPL")
    assert [c.exchange for c in chain.chains] == ["SMART", "CBOE"]
    assert client.account()[0].buying_power == "4000000"
    assert server.broker.calls_of("GetAccount")[0].request.account_id == ""
    client.account("DU1")
    assert server.broker.calls_of("GetAccount")[1].request.account_id == "DU1"
    assert [p.quantity for p in client.positions()] == ["10", "-2"]
    assert client.quote("AAPL").bid == "189.99"


def test_orders_lifecycle_and_pagination(server: FakeServer, client: BrokerClient) -> None:
    market = client.place_order(stock("AAPL"), order_spec("buy", 1)).order
    assert market.status == order_pb2.ORDER_STATUS_FILLED
    limits = [client.place_order(stock("AAPL"), limit_buy(i)).order for i in (1, 2, 3)]
    everything = client.list_orders()
    assert [o.order_id for o in everything] == [o.order_id for o in [*reversed(limits), market]]
    assert len(server.broker.calls_of("ListOrders")) == 2  # two pages of two
    assert [o.order_id for o in client.list_orders("open")] == [
        o.order_id for o in reversed(limits)
    ]
    assert [o.order_id for o in client.list_orders("completed")] == [market.order_id]
    assert (
        server.broker.calls_of("ListOrders")[-1].request.filter == order_pb2.ORDER_FILTER_COMPLETED
    )
    with pytest.raises(ValueError, match="filter"):
        client.list_orders("filled")
    modified = client.modify_order(limits[0].order_id, quantity=5, limit_price="189.5")
    assert (modified.spec.quantity, modified.spec.limit_price) == ("5", "189.5")
    with pytest.raises(ValueError, match="at least one"):
        client.modify_order(limits[0].order_id)
    assert client.get_order(limits[0].order_id).order_id == limits[0].order_id
    assert client.get_order(request_id=limits[1].request_id).order_id == limits[1].order_id
    with pytest.raises(ValueError):
        client.get_order()
    cancelled = client.cancel_order(limits[0].order_id)
    assert cancelled.status == order_pb2.ORDER_STATUS_CANCELLED
    assert client.cancel_all_orders() == [limits[2].order_id, limits[1].order_id][::-1]
    with pytest.raises(OrderNotFoundError):
        client.cancel_order("ord-999")


def test_place_order_sends_bracket_what_if_options_and_combos(
    server: FakeServer, client: BrokerClient
) -> None:
    response = client.place_order(
        stock("AAPL"), limit_buy(), bracket(take_profit="200", stop_loss=180)
    )
    sent = server.broker.calls_of("PlaceOrder")[-1].request
    assert sent.bracket.take_profit_limit_price == "200"
    assert sent.bracket.stop_loss_stop_price == "180"
    assert response.bracket_orders[0].parent_order_id == response.order.order_id
    preview = client.place_order(stock("AAPL"), limit_buy(), what_if=True)
    assert preview.preview.commission == "1" and not preview.HasField("order")
    assert server.broker.calls_of("PlaceOrder")[-1].request.what_if
    client.place_order(option("aapl", "20260116", 190, "call"), order_spec("sell", 1))
    sent = server.broker.calls_of("PlaceOrder")[-1].request.contract
    assert (sent.symbol, sent.strike, sent.right) == ("AAPL", "190", contract_pb2.OPTION_RIGHT_CALL)
    spread = combo("AAPL", [(101, 1, "buy", "SMART"), (102, 1, "sell")])
    client.place_order(spread, order_spec("buy", 1, "limit", limit_price="-1.5",
                                          allow_negative_limit=True))  # fmt: skip
    sent_request = server.broker.calls_of("PlaceOrder")[-1].request
    assert [leg.con_id for leg in sent_request.contract.combo_legs] == [101, 102]
    assert sent_request.order.limit_price == "-1.5"


def test_deadline_and_token_metadata(server: FakeServer) -> None:
    with BrokerClient(config=server.config(), token="s3cret", timeout=3) as client:
        client.status()
    assert client.config.timeout == 3
    assert server.broker.calls[-1].metadata["authorization"] == "Bearer s3cret"


def test_settings_come_from_arguments_then_environment(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IBKR_BROKER_TARGET", server.target)
    monkeypatch.setenv("IBKR_BROKER_TOKEN", "from-env")
    monkeypatch.setenv("IBKR_BROKER_TIMEOUT", "7.5")
    with BrokerClient() as client:
        assert client.status().connection_state == common_pb2.CONNECTION_STATE_READY
        assert client.config.timeout == 7.5
    assert server.broker.calls[-1].metadata["authorization"] == "Bearer from-env"
    with BrokerClient(token="arg") as client:
        client.status()
    assert server.broker.calls[-1].metadata["authorization"] == "Bearer arg"
    monkeypatch.delenv("IBKR_BROKER_TARGET")
    assert ClientConfig.from_env().target == "127.0.0.1:50051"
    monkeypatch.setenv("IBKR_BROKER_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="IBKR_BROKER_TIMEOUT"):
        ClientConfig.from_env()


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="client_key"):
        ClientConfig(client_cert="cert.pem")
    with pytest.raises(ValueError, match="timeout"):
        ClientConfig(timeout=0)
    with pytest.raises(ValueError, match="timeout"):
        ClientConfig(timeout="10")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown client setting"):
        ClientConfig.from_env(tagret="x")
    with pytest.raises(ValueError, match="ca_cert: cannot read"):
        BrokerClient(ca_cert="/nonexistent/ca.pem")
    delays = [ClientConfig(backoff=1, max_backoff=3).backoff_delay(a) for a in range(4)]
    assert all(0.5 * c <= d <= c for d, c in zip(delays, [1, 2, 3, 3], strict=True))


def test_tls_with_a_private_ca(tmp_path: Path) -> None:
    from ibkr_broker.server.certs import generate  # test-only: the client never imports it

    files = generate(tmp_path / "certs", days=1)
    key, crt, ca_crt = files.server_key, files.server_cert, files.ca_cert
    credentials = grpc.ssl_server_credentials([(key.read_bytes(), crt.read_bytes())])
    with running_fake(credentials=credentials) as tls_server:
        config = tls_server.config(ca_cert=str(ca_crt), token="t")
        assert config.secure
        with BrokerClient(config=config) as client:
            assert client.status().paper_trading
        assert tls_server.broker.calls[-1].metadata["authorization"] == "Bearer t"
        # Without the CA the server's certificate is not trusted: no call gets through.
        with (
            BrokerClient(config=tls_server.config(retries=0)) as plain,
            pytest.raises(UnavailableError),
        ):
            plain.status()


# --- streams ------------------------------------------------------------------------------


def test_order_events_resume_after_the_last_sequence_without_loss_or_duplicates(
    server: FakeServer, client: BrokerClient
) -> None:
    broker = server.broker
    broker.events = [order_event(f"ord-{i}", order_pb2.ORDER_STATUS_SUBMITTED) for i in range(5)]
    broker.event_drops = [2, None]  # drop the first stream after two events
    broker.replay_overlap = 1  # and have the resumed stream resend one it had delivered
    items = list(client.order_events())
    marker = items[2]
    assert isinstance(marker, StreamReconnected)
    assert marker.stream == "order_events" and marker.attempts == 1
    assert marker.resume_after_sequence == 2
    assert isinstance(marker.error, UnavailableError)
    events = [i for i in items if not isinstance(i, StreamReconnected)]
    assert [e.sequence for e in events] == [1, 2, 3, 4, 5]
    assert [e.event.order.order_id for e in events] == [f"ord-{i}" for i in range(5)]
    requests = [c.request.resume_after_sequence for c in broker.calls_of("StreamOrderEvents")]
    assert requests == [0, 2]


def test_order_events_start_after_a_given_sequence(
    server: FakeServer, client: BrokerClient
) -> None:
    server.broker.events = [order_event(f"o{i}", order_pb2.ORDER_STATUS_FILLED) for i in range(4)]
    assert [e.sequence for e in client.order_events(resume_after_sequence=2)] == [3, 4]  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        client.order_events(-1)


def test_a_stream_that_keeps_failing_gives_up_with_the_error(
    server: FakeServer, client: BrokerClient
) -> None:
    server.broker.events = [order_event("o", order_pb2.ORDER_STATUS_FILLED)]
    server.broker.event_drops = [0, 0, 0, 0, 0, 0]
    with pytest.raises(UnavailableError):
        list(client.order_events())
    assert len(server.broker.calls_of("StreamOrderEvents")) == 1 + client.config.stream_retries


def test_a_stream_is_not_reopened_after_a_non_transport_error(
    server: FakeServer, client: BrokerClient
) -> None:
    server.broker.fail("StreamOrderEvents", Failure(C.OUT_OF_RANGE, "sequence 1 is too old"))
    with pytest.raises(Exception) as caught:
        list(client.order_events(resume_after_sequence=1))
    assert caught.value.code is C.OUT_OF_RANGE  # type: ignore[attr-defined]
    assert len(server.broker.calls_of("StreamOrderEvents")) == 1


def test_quote_stream_reopens_and_says_so(server: FakeServer, client: BrokerClient) -> None:
    server.broker.quote_messages = [
        quote_batch(1, quote("AAPL", "1", "2", "1.5")),
        quote_batch(2, quote("AAPL", "1.1", "2", "1.5"), quote("MSFT", "3", "4", "3.5")),
    ]
    server.broker.quote_drops = [1, None]
    items = list(client.stream_quotes(["AAPL", stock("MSFT")]))
    kinds = [type(i).__name__ for i in items]
    assert kinds == [
        "StreamQuotesResponse",
        "StreamReconnected",
        "StreamQuotesResponse",
        "StreamQuotesResponse",
    ]
    assert items[1].resume_after_sequence is None  # type: ignore[union-attr]
    requests = [c.request for c in server.broker.calls_of("StreamQuotes")]
    assert len(requests) == 2 and requests[0] == requests[1]
    assert [c.symbol for c in requests[0].contracts] == ["AAPL", "MSFT"]
    with pytest.raises(ValueError):
        client.stream_quotes([])


def test_cancel_from_another_thread_ends_a_blocked_stream(
    server: FakeServer, client: BrokerClient
) -> None:
    server.broker.quote_messages = [quote_batch(1, quote("AAPL", "1", "2", "1.5"))]
    server.broker.hold_streams_open = True
    stream = client.stream_quotes(["AAPL"])
    first = next(stream)
    assert not isinstance(first, StreamReconnected)
    timer = threading.Timer(0.05, stream.cancel)
    timer.start()
    assert list(stream) == []  # blocked until the cancel, then ends cleanly
    timer.join()


def test_closing_a_stream_early_cancels_the_call(server: FakeServer, client: BrokerClient) -> None:
    server.broker.quote_messages = [quote_batch(i, quote("AAPL", "1", "2", "1")) for i in (1, 2)]
    server.broker.hold_streams_open = True
    with client.stream_quotes(["AAPL"]) as stream:
        assert next(stream).sequence == 1  # type: ignore[union-attr]
    with pytest.raises(StopIteration):
        next(stream)


def test_decimal_inputs_are_exact_on_the_wire(server: FakeServer, client: BrokerClient) -> None:
    client.place_order(stock("AAPL"), order_spec("buy", Decimal("1.50"), "limit", limit_price=0.1))
    sent = server.broker.calls_of("PlaceOrder")[-1].request.order
    assert (sent.quantity, sent.limit_price) == ("1.50", "0.1")


def test_invalid_argument_from_server_surfaces_with_field(
    server: FakeServer, client: BrokerClient
) -> None:
    server.broker.fail(
        "PlaceOrder",
        Failure(C.INVALID_ARGUMENT, "bad tif", "INVALID_ARGUMENT", field="order.time_in_force"),
    )
    with pytest.raises(InvalidOrderError) as caught:
        client.place_order(stock("AAPL"), limit_buy())
    assert caught.value.field == "order.time_in_force"


def test_fake_broker_default_factory_is_independent() -> None:
    assert FakeBroker().orders == {} and FakeBroker().orders is not FakeBroker().orders
