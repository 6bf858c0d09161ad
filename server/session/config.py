"""Settings the session needs (the app builds them from the server configuration)."""

from __future__ import annotations

from dataclasses import dataclass, field

LIVE_PORTS = frozenset({7496, 4001})  # TWS and IB Gateway default live API ports


@dataclass(frozen=True)
class RiskLimits:
    """Pre-trade limits; empty / 0 / () = no limit."""

    max_order_quantity: str = ""  # decimal units per order
    max_order_notional: str = ""  # decimal, quantity x latest price x multiplier
    max_position: str = ""  # decimal units per contract, absolute, after the order
    max_open_orders: int = 0
    max_orders_per_minute: int = 0
    allowed_security_types: tuple[str, ...] = ()  # e.g. ("STK", "OPT"); IB spelling
    allowed_symbols: tuple[str, ...] = ()


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
    risk: RiskLimits = field(default_factory=RiskLimits)  # the server's [risk] section
