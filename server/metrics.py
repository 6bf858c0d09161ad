"""Prometheus metrics of one server, served at http://HOST:PORT/metrics (`--metrics HOST:PORT`,
`[metrics] listen`).

The lower layers know nothing of Prometheus: they keep plain counts (the market-data hub, the
TWS link) or call back (the journal's listeners, the session's state listeners, the pacing
bucket's `on_wait`, the API's CallObserver); `Metrics.watch` wires those to the series below.
Gauges and the counts the layers keep are read when Prometheus scrapes, on the event loop (the
HTTP endpoint is served by the loop, so a scrape never races the session).

Series: ibkr_broker_tws_connected, ibkr_broker_tws_reconnects_total, ibkr_broker_orders_total
{status}, ibkr_broker_order_ack_seconds, ibkr_broker_market_data_lines,
ibkr_broker_quote_subscribers, ibkr_broker_quotes_conflated_total,
ibkr_broker_pacing_wait_seconds, ibkr_broker_tws_decode_errors_total,
ibkr_broker_risk_refusals_total{limit}, ibkr_broker_trading_halted, and per RPC
grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code} and
grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method}.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from .api.observe import CallReport, call_started
from .domain.model import ConnectionState, IbError, OrderEvent, OrderEventType, OrderStatus
from .order_log import OrderTransitions
from .session.broker_session import BrokerSession

log = logging.getLogger(__name__)
disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series beside every counter: Prometheus needs none

RISK_REASON_PREFIX = "RISK_"  # ErrorInfo reasons of risk refusals: RISK_<SETTING>
ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PACING_BUCKETS = (0.0, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
RPC_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0, 600.0)


@dataclass(frozen=True)
class Readings:
    """What the collector reads at scrape time (callables into the running server)."""

    connected: Callable[[], bool]
    market_data_lines: Callable[[], int]
    quote_subscribers: Callable[[], int]
    quotes_conflated: Callable[[], int]
    decode_errors: Callable[[], int]
    trading_halted: Callable[[], bool]


class _ScrapeCollector(Collector):
    def __init__(self, readings: Readings) -> None:
        self.readings = readings

    def collect(self) -> Iterator[Metric]:
        r = self.readings
        yield _gauge("ibkr_broker_tws_connected", "1 while the TWS session is ready", r.connected)
        yield _gauge("ibkr_broker_market_data_lines", "market-data lines held at IB",
                     r.market_data_lines)  # fmt: skip
        yield _gauge("ibkr_broker_quote_subscribers", "open quote streams with a subscription",
                     r.quote_subscribers)  # fmt: skip
        yield _gauge("ibkr_broker_trading_halted", "1 while the kill switch is engaged",
                     r.trading_halted)  # fmt: skip
        yield _counter(
            "ibkr_broker_quotes_conflated",
            "quote updates replaced by a newer one before a slow stream read them",
            r.quotes_conflated,
        )
        yield _counter(
            "ibkr_broker_tws_decode_errors", "messages from TWS that failed to decode",
            r.decode_errors,
        )  # fmt: skip


def _gauge(name: str, text: str, read: Callable[[], float]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, text, value=float(read()))


def _counter(name: str, text: str, read: Callable[[], float]) -> CounterMetricFamily:
    return CounterMetricFamily(name, text, value=float(read()))


class Metrics:
    """The server's series in a registry of its own (several servers can share a process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.reconnects = Counter("ibkr_broker_tws_reconnects", "TWS sessions re-established "
                                  "after a lost connection", registry=r)  # fmt: skip
        self.orders = Counter("ibkr_broker_orders", "order status transitions, by the status "
                              "entered", ["status"], registry=r)  # fmt: skip
        self.order_ack = Histogram("ibkr_broker_order_ack_seconds", "from the PlaceOrder call's "
                                   "arrival to TWS's first acknowledgement of the order",
                                   buckets=ACK_BUCKETS, registry=r)  # fmt: skip
        self.pacing_wait = Histogram("ibkr_broker_pacing_wait_seconds", "time a message to TWS "
                                     "waited for the pacing token bucket", buckets=PACING_BUCKETS,
                                     registry=r)  # fmt: skip
        self.risk_refusals = Counter("ibkr_broker_risk_refusals", "orders refused by a "
                                     "pre-trade risk limit", ["limit"], registry=r)  # fmt: skip
        self.handled = Counter("grpc_server_handled", "RPCs completed on the server",
                               ["grpc_type", "grpc_service", "grpc_method", "grpc_code"],
                               registry=r)  # fmt: skip
        self.handling = Histogram("grpc_server_handling_seconds", "time from an RPC's start to "
                                  "its end (a stream's whole life)",
                                  ["grpc_type", "grpc_service", "grpc_method"],
                                  buckets=RPC_BUCKETS, registry=r)  # fmt: skip
        self._was_ready = False
        self._transitions = OrderTransitions()
        self._unacknowledged: dict[str, float] = {}  # order_id -> monotonic time of placement

    def initialize(self, methods: Iterable[tuple[str, str, str]], limits: Iterable[str]) -> None:
        """Series with labels exist from the start at 0: every order status, every risk limit,
        and the OK count of every (kind, service, method), so a scrape shows them all."""
        for status in OrderStatus:
            self.orders.labels(status.name.lower())
        for limit in limits:
            self.risk_refusals.labels(limit)
        for kind, service, method in methods:
            self.handled.labels(kind, service, method, "OK")
            self.handling.labels(kind, service, method)

    def watch(self, session: BrokerSession, readings: Readings) -> None:
        """Wire the session's callbacks to these series and read `readings` at scrape time."""
        self._transitions = OrderTransitions(session.orders.all())
        session.journal.listeners.append(self.on_order_event)
        session.state_listeners.append(self.on_state)
        session.bucket.on_wait = self.pacing_wait.observe
        self.registry.register(_ScrapeCollector(readings))

    # --- callbacks -----------------------------------------------------------------------------

    def on_state(self, state: ConnectionState, _error: IbError | None) -> None:
        if state is ConnectionState.READY:
            if self._was_ready:
                self.reconnects.inc()
            self._was_ready = True

    def on_order_event(self, event: OrderEvent) -> None:
        order = event.order
        if event.type is OrderEventType.CREATED:  # from the PlaceOrder call's arrival
            self._unacknowledged[order.order_id] = call_started.get(time.monotonic())
        if self._transitions.entered(event) is not None:
            self.orders.labels(order.status.name.lower()).inc()
        if order.status is not OrderStatus.PENDING_SUBMIT:
            placed = self._unacknowledged.pop(order.order_id, None)
            if placed is not None:
                self.order_ack.observe(time.monotonic() - placed)

    def on_call(self, report: CallReport) -> None:
        labels = (report.kind, report.service, report.method)
        self.handled.labels(*labels, report.code).inc()
        self.handling.labels(*labels).observe(report.seconds)
        if report.reason.startswith(RISK_REASON_PREFIX):
            self.risk_refusals.labels(report.reason[len(RISK_REASON_PREFIX) :].lower()).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsEndpoint:
    """GET /metrics over HTTP/1.1 on the event loop (one response per connection)."""

    READ_TIMEOUT = 10.0

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self, listen: str) -> None:
        host, _, port = listen.rpartition(":")
        host = host.strip("[]")
        try:
            self._server = await asyncio.start_server(self._serve, host, int(port))
        except OSError as exc:
            raise OSError(f"metrics: cannot listen on {listen}: {exc.strerror or exc}") from None
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("metrics at http://%s:%d/metrics", host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(self.READ_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
            method, path = _request_line(head)
            if method not in ("GET", "HEAD"):
                writer.write(_response(405, b"only GET\n", "text/plain"))
            elif path.split("?", 1)[0] != "/metrics":
                writer.write(_response(404, b"see /metrics\n", "text/plain"))
            else:
                body = self.metrics.exposition()
                writer.write(_response(200, body, CONTENT_TYPE_LATEST, head_only=method == "HEAD"))
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a client that sends no complete request head gets nothing
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


def _request_line(head: bytes) -> tuple[str, str]:
    first = head.split(b"\r\n", 1)[0].decode("latin-1").split()
    return (first[0], first[1]) if len(first) >= 2 else ("", "")


def _response(status: int, body: bytes, content_type: str, *, head_only: bool = False) -> bytes:
    reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}[status]
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + (b"" if head_only else body)
