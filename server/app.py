"""The composition root: configuration, wiring, start, drain and stop.

app = BrokerApp(config)            # or BrokerApp(config, gateway=<an IbPort>)
await app.start()                  # gRPC listening; the TWS session connects in background
... app.port ...
await app.stop()                   # drain streams, stop gRPC, disconnect from TWS
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from ibkr_broker.v1 import broker_service_pb2

from .api.auth import AuthInterceptor, Principal
from .api.decoding import add_broker_service
from .api.observe import KINDS, CallObserver
from .api.servicer import BrokerServicer
from .audit import AuditLog
from .config import Config, ConfigError, SecuritySettings, validate
from .domain.model import ConnectionState, IbError
from .order_log import OrderLog
from .session.broker_session import BrokerSession
from .session.ib_port import IbPort
from .session.store import Store
from .trading.trader import Trader

if TYPE_CHECKING:
    from .bus.gateway import GatewayBus
    from .metrics import Metrics, MetricsEndpoint

log = logging.getLogger(__name__)

SERVICE_NAME = broker_service_pb2.DESCRIPTOR.services_by_name["BrokerService"].full_name
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


class BrokerApp:
    def __init__(self, config: Config, gateway: IbPort | None = None) -> None:
        validate(config)  # also refuses a network address without TLS and tokens
        self.config = config
        security = config.security
        self._credentials = server_credentials(security)
        self.audit = open_audit_log(config)
        if gateway is None:
            from .ib.gateway import IbGateway  # the only place that pulls in ibapi

            gateway = IbGateway(max_server_version=config.tws.max_server_version)
        self.store = Store(store_path(config))
        self.session = BrokerSession(gateway, config.session_config(), self.store)
        self.trader = Trader(self.session, config.risk)
        self.servicer = BrokerServicer(self.session, self.trader, config.server.heartbeat_interval)
        self.servicer.read_only = security.read_only
        self.session.journal.listeners.append(OrderLog(self.session.orders.all()))
        self.bus = self._bus() if config.bus.url else None
        self._health = health.aio.HealthServicer()
        self.metrics, self.metrics_endpoint = self._metrics(gateway)
        interceptors: list[grpc.aio.ServerInterceptor] = [AuthInterceptor(security, self.audit)]
        if self.metrics is not None:  # first, so that refused calls are counted too
            interceptors.insert(0, CallObserver(self.metrics.on_call))
        self.server = grpc_server(self.servicer, self._health, interceptors)
        self.port = 0
        self._stopped = asyncio.Event()
        self._health_tasks: set[asyncio.Task[None]] = set()

    def _bus(self) -> GatewayBus:
        """The gateway's side of NATS JetStream ([bus] url); None of it without a url."""
        from .bus.gateway import GatewayBus, LeaseSettings
        from .bus.lease import lease_name

        tws = self.config.tws
        lease = LeaseSettings(
            lease_name(tws.host, tws.port, tws.client_id), self.config.bus.lease_ttl, self._lost
        )
        return GatewayBus(
            self.config.bus.url,
            self.session,
            self.trader,
            self.servicer,
            principals(self.config.security),
            self.config.security.read_only,
            lease,
        )

    def _lost(self) -> None:
        """The lease lapsed or was taken: another gateway leads this login now; stop."""
        log.error("this gateway lost the lease of its TWS login: stopping")
        task = asyncio.get_running_loop().create_task(self.stop())
        self._health_tasks.add(task)

    def _metrics(self, gateway: IbPort) -> tuple[Metrics | None, MetricsEndpoint | None]:
        """Prometheus series and their endpoint when [metrics] listen is set."""
        if not self.config.metrics.listen:
            return None, None
        from .metrics import Metrics, MetricsEndpoint, Readings

        metrics = Metrics()
        session, trader = self.session, self.trader
        metrics.watch(
            session,
            Readings(
                connected=lambda: session.ready,
                market_data_lines=lambda: session.market_data.lines,
                quote_subscribers=lambda: session.market_data.subscriber_count,
                quotes_conflated=lambda: session.market_data.coalesced_total,
                decode_errors=lambda: int(getattr(gateway, "decode_errors", 0)),  # IbGateway's
                trading_halted=lambda: trader.kill_switch.engaged,
            ),
        )
        metrics.initialize(rpc_methods(), [f.name for f in dataclasses.fields(self.config.risk)])
        return metrics, MetricsEndpoint(metrics)

    async def start(self) -> None:
        await self._set_health(False)
        self.session.state_listeners.append(self._on_state)
        listen = self.config.server.listen
        self.port = bind(self.server, listen, self._credentials)
        if not self.port:
            self.store.close()
            self.audit.close()
            raise OSError(f"cannot listen on {listen}: the address is in use or not available")
        await self.server.start()
        if self.metrics_endpoint is not None:
            try:
                await self.metrics_endpoint.start(self.config.metrics.listen)
            except OSError:
                await self.server.stop(None)
                self.store.close()
                self.audit.close()
                raise
        if self.bus is not None:
            try:
                await self.bus.start()  # the lease first: no TWS connection without it
            except BaseException:
                await self.server.stop(None)
                if self.metrics_endpoint is not None:
                    await self.metrics_endpoint.stop()
                self.store.close()
                self.audit.close()
                raise
        await self.session.start()
        log.info("serving %s on port %d", SERVICE_NAME, self.port)

    def _on_state(self, state: ConnectionState, _error: IbError | None) -> None:
        task = asyncio.get_running_loop().create_task(
            self._set_health(state is ConnectionState.READY)
        )
        self._health_tasks.add(task)
        task.add_done_callback(self._health_tasks.discard)

    async def _set_health(self, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", SERVICE_NAME):
            await self._health.set(name, status)

    async def stop(self) -> None:
        """Drain: streams end cleanly, new calls are refused, then TWS is disconnected."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        await self._set_health(False)
        self.servicer.draining.set()
        await self.server.stop(self.config.server.drain_timeout)
        if self.metrics_endpoint is not None:
            await self.metrics_endpoint.stop()
        if self.bus is not None:
            await self.bus.stop()
        await self.session.stop()
        if self.bus is not None:
            await self.bus.release()
        self.audit.close()

    async def wait_stopped(self) -> None:
        await self._stopped.wait()


def grpc_server(
    servicer: Any,
    health_servicer: health.aio.HealthServicer,
    interceptors: Sequence[grpc.aio.ServerInterceptor],
) -> grpc.aio.Server:
    """A grpc.aio server with the broker service (its never-raising deserializers), the health
    service and reflection, behind `interceptors`; not yet bound (`bind`)."""
    server = grpc.aio.server(
        interceptors=list(interceptors),
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ],
    )
    add_broker_service(servicer, server)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    return server


def bind(server: grpc.aio.Server, listen: str, credentials: grpc.ServerCredentials | None) -> int:
    """The port `server` listens on at `listen` (TLS with `credentials`), or 0 when it cannot."""
    try:
        if credentials is not None:
            return int(server.add_secure_port(listen, credentials))
        return int(server.add_insecure_port(listen))
    except RuntimeError:  # grpc's "Failed to bind": the port is taken or not ours
        return 0


def rpc_methods() -> list[tuple[str, str, str]]:
    """(kind, service, method) of every BrokerService RPC, kinds as CallObserver names them."""
    service = broker_service_pb2.DESCRIPTOR.services_by_name["BrokerService"]
    return [
        (KINDS[(m.client_streaming, m.server_streaming)][0], service.full_name, m.name)
        for m in service.methods
    ]


def store_path(config: Config) -> Path:
    return Path(config.server.data_dir) / "broker.sqlite3"


def principals(security: SecuritySettings) -> dict[str, Principal]:
    """The configured tokens by name, as the callers an edge names on the bus."""
    return {t.name: Principal(t.name, t.role, t.risk) for t in security.tokens}


def server_credentials(security: SecuritySettings) -> grpc.ServerCredentials | None:
    """TLS credentials from the PEM files of [security]; None = plaintext (loopback only)."""
    if not security.tls_cert_file:
        return None
    cert = _read_pem("security.tls_cert_file", security.tls_cert_file, "CERTIFICATE")
    key = _read_pem("security.tls_key_file", security.tls_key_file, "PRIVATE KEY")
    ca = (
        _read_pem("security.client_ca_file", security.client_ca_file, "CERTIFICATE")
        if security.client_ca_file
        else None
    )
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=ca, require_client_auth=ca is not None
    )


def _read_pem(setting: str, path: str, kind: str) -> bytes:
    try:
        data = Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read {path}: {exc.strerror or exc}") from None
    if b"-----BEGIN " not in data or kind.encode() not in data:
        raise ConfigError(f"{setting}: {path} holds no PEM {kind}")
    return data


def open_audit_log(config: Config) -> AuditLog:
    path = Path(config.security.audit_log or Path(config.server.data_dir) / "audit.jsonl")
    try:
        return AuditLog(path.expanduser())
    except OSError as exc:
        raise ConfigError(
            f"security.audit_log: cannot open {path}: {exc.strerror or exc}"
        ) from None
