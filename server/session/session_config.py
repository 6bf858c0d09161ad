"""Settings the session needs (the app builds them from the server configuration)."""

from __future__ import annotations

from dataclasses import dataclass

LIVE_PORTS = frozenset({7496, 4001})  # TWS and IB Gateway default live API ports


@dataclass(frozen=True)
class SessionConfig:
    host: str = "127.0.0.1"
    port: int = 7497
    client_id: int = 1
    paper_trading: bool = True
    allow_live: bool = False
    connect_timeout: float = 5.0
    request_timeout: float = 10.0
    order_timeout: float = 10.0
    reconnect_initial_delay: float = 1.0
    reconnect_max_delay: float = 30.0
    messages_per_second: float = 45.0
    message_burst: int = 4
    market_data_type: int = 1  # 1 live, 3 delayed (TWS falls back to delayed when not entitled)
    max_server_version: int = 0  # the ceiling offered in the TWS handshake (for GetStatus)
