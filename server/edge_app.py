"""The composition root of an edge: the gRPC API served from NATS JetStream, no TWS, no state.

edge = EdgeApp(config)    # config.bus.url is required; [security] applies as on the gateway
await edge.start()        # ... edge.port ...
await edge.stop()
"""

from __future__ import annotations

import asyncio
import logging

from grpc_health.v1 import health, health_pb2

from .api.auth import AuthInterceptor
from .app import SERVICE_NAME, bind, grpc_server, open_audit_log, server_credentials
from .bus.edge import EdgeServicer
from .bus.edge_backend import EdgeBackend
from .config import Config, ConfigError, validate

log = logging.getLogger(__name__)


class EdgeApp:
    def __init__(self, config: Config) -> None:
        validate(config)
        if not config.bus.url:
            raise ConfigError("bus.url: an edge serves from NATS; give --bus nats://HOST:PORT")
        self.config = config
        self._credentials = server_credentials(config.security)
        self.audit = open_audit_log(config)
        self.backend = EdgeBackend(config.bus.url)
        self.servicer = EdgeServicer(self.backend, config.server.heartbeat_interval)
        self._health = health.aio.HealthServicer()
        self.server = grpc_server(
            self.servicer, self._health, [AuthInterceptor(config.security, self.audit)]
        )
        self.port = 0
        self._stopped = asyncio.Event()

    async def start(self) -> None:
        listen = self.config.server.listen
        self.port = bind(self.server, listen, self._credentials)
        if not self.port:
            self.audit.close()
            raise OSError(f"cannot listen on {listen}: the address is in use or not available")
        try:
            await self.backend.start()
        except Exception as exc:
            self.audit.close()
            raise OSError(f"cannot reach NATS at {self.config.bus.url}: {exc}") from None
        await self.server.start()
        for name in ("", SERVICE_NAME):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("edge serving %s on port %d from %s", SERVICE_NAME, self.port, self.config.bus.url)

    async def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.servicer.draining.set()
        await self.server.stop(self.config.server.drain_timeout)
        await self.backend.stop()
        self.audit.close()

    async def wait_stopped(self) -> None:
        await self._stopped.wait()
