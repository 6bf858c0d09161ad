"""Server configuration: a TOML file, then environment overrides, then command-line flags.

Every setting is documented in config/server.example.toml. An environment variable
IBKR_BROKER_<SECTION>_<KEY> (e.g. IBKR_BROKER_TWS_PORT=4002) overrides the file. Unknown
sections or keys, and values of the wrong type, are errors that name the setting.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .ib.versions import PROVEN_MAX_SERVER_VERSION, check_max_server_version
from .session.session_config import SessionConfig
from .trading import limits as risk
from .trading.limits import RiskLimits


class ConfigError(ValueError):
    """A setting is missing, unknown or malformed; the message names it."""


@dataclass(frozen=True)
class ServerSettings:
    listen: str = "127.0.0.1:50051"
    data_dir: str = "data"
    heartbeat_interval: float = 5.0
    quote_interval: float = 0.005  # seconds between fan-out turns of quote streams
    drain_timeout: float = 5.0
    log_level: str = "INFO"
    log_format: str = "text"  # "text" (for a terminal) or "json" (one object per line)


@dataclass(frozen=True)
class TwsSettings:
    host: str = "127.0.0.1"
    port: int = 7497
    client_id: int = 1
    connect_timeout: float = 5.0
    request_timeout: float = 10.0
    order_timeout: float = 10.0
    reconnect_initial_delay: float = 1.0
    reconnect_max_delay: float = 30.0
    messages_per_second: float = 45.0
    message_burst: int = 4
    market_data_type: int = 1
    # The highest TWS API server version offered in the handshake (TWS answers the lower of
    # this and its own maximum): the newest version the test suite proves.
    max_server_version: int = PROVEN_MAX_SERVER_VERSION


@dataclass(frozen=True)
class TradingSettings:
    paper_trading: bool = True
    allow_live: bool = False


@dataclass(frozen=True)
class TokenSettings:
    """A bearer token: its name, role and the SHA-256 of the token (never the token)."""

    name: str
    role: str  # "read" | "trade" | "admin"
    sha256: str = field(repr=False)  # hex digest of the token's UTF-8 bytes
    risk: RiskLimits | None = None  # overrides of the server's limits for this token


@dataclass(frozen=True)
class SecuritySettings:
    tls_cert_file: str = ""
    tls_key_file: str = ""
    client_ca_file: str = ""  # set = mutual TLS: clients must present a certificate it signed
    read_only: bool = False
    allowed_clients: tuple[str, ...] = ()  # IP addresses or CIDR networks; empty = any
    audit_log: str = ""  # path of the JSON-lines audit log; empty = <data_dir>/audit.jsonl
    tokens: tuple[TokenSettings, ...] = ()


@dataclass(frozen=True)
class MetricsSettings:
    listen: str = ""  # HOST:PORT of the Prometheus endpoint (/metrics); empty = off


@dataclass(frozen=True)
class BusSettings:
    url: str = ""  # nats://HOST:PORT of NATS with JetStream; empty = no bus (one process)
    standby: bool = False  # hold no TWS connection until the leader's lease lapses
    lease_ttl: float = 3.0  # seconds the leader's lease lives without a renewal


@dataclass(frozen=True)
class Config:
    server: ServerSettings = field(default_factory=ServerSettings)
    tws: TwsSettings = field(default_factory=TwsSettings)
    trading: TradingSettings = field(default_factory=TradingSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    risk: RiskLimits = field(default_factory=RiskLimits)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    bus: BusSettings = field(default_factory=BusSettings)

    def session_config(self) -> SessionConfig:
        t = self.tws
        return SessionConfig(
            host=t.host,
            port=t.port,
            client_id=t.client_id,
            paper_trading=self.trading.paper_trading,
            allow_live=self.trading.allow_live,
            connect_timeout=t.connect_timeout,
            request_timeout=t.request_timeout,
            order_timeout=t.order_timeout,
            reconnect_initial_delay=t.reconnect_initial_delay,
            reconnect_max_delay=t.reconnect_max_delay,
            messages_per_second=t.messages_per_second,
            message_burst=t.message_burst,
            market_data_type=t.market_data_type,
            quote_interval=self.server.quote_interval,
            max_server_version=t.max_server_version,
        )

    def with_overrides(self, section: str, **values: Any) -> Config:
        current = getattr(self, section)
        return dataclasses.replace(self, **{section: dataclasses.replace(current, **values)})


SECTIONS: dict[str, type[Any]] = {
    "server": ServerSettings,
    "tws": TwsSettings,
    "trading": TradingSettings,
    "security": SecuritySettings,
    "risk": RiskLimits,
    "metrics": MetricsSettings,
    "bus": BusSettings,
}
ROLES = ("read", "trade", "admin")
ENV_PREFIX = "IBKR_BROKER_"


def _coerce(name: str, tp: Any, raw: Any, from_env: bool, setting: str = "") -> Any:
    """`raw` as type `tp`; `name` is where it came from (a setting or an environment variable),
    `setting` the setting it fills (named by a bad decimal)."""
    tp_name = tp if isinstance(tp, str) else tp.__name__
    if tp_name in ("tuple[str, ...]", "frozenset[str]"):
        items = [p.strip() for p in str(raw).split(",") if p.strip()] if from_env else raw
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ConfigError(f"{name}: expected a list of strings, got {raw!r}")
        return tuple(items) if tp_name.startswith("tuple") else frozenset(items)
    if tp_name == "Decimal | None":
        if not isinstance(raw, str):
            raise ConfigError(f"{name}: expected str, got {raw!r}")
        try:
            return risk.parse_decimal(raw)
        except ValueError as exc:
            raise ConfigError(f"{setting or name}: {exc} (empty = no limit)") from None
    if tp_name == "tuple[TokenSettings, ...]":
        if from_env:
            raise ConfigError(f"{name}: tokens are configured in the file, not the environment")
        return tuple(_token(f"{name}[{i}]", t) for i, t in enumerate(_list(name, raw)))
    try:
        if tp_name == "bool":
            if from_env:
                lowered = str(raw).strip().lower()
                if lowered in ("1", "true", "yes", "on"):
                    return True
                if lowered in ("0", "false", "no", "off"):
                    return False
                raise ValueError
            if not isinstance(raw, bool):
                raise ValueError
            return raw
        if tp_name == "int":
            if isinstance(raw, bool) or (not from_env and not isinstance(raw, int)):
                raise ValueError
            return int(raw)
        if tp_name == "float":
            if isinstance(raw, bool):
                raise ValueError
            value = float(raw)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
            return value
        if not isinstance(raw, str):
            raise ValueError
        return raw
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected {tp_name}, got {raw!r}") from None


def _list(name: str, raw: Any) -> list[Any]:
    if not isinstance(raw, list):
        raise ConfigError(f"{name}: expected a list, got {raw!r}")
    return raw


def _token(name: str, raw: Any) -> TokenSettings:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{name}: expected a table with name, role and sha256")
    known = {"name", "role", "sha256", "risk"}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"{name}: unknown setting {sorted(unknown)[0]}")
    for key in ("name", "role", "sha256"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise ConfigError(f"{name}.{key}: required (a string)")
    if raw["role"] not in ROLES:
        raise ConfigError(f"{name}.role: {raw['role']!r} is not one of {', '.join(ROLES)}")
    digest = raw["sha256"].lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ConfigError(f"{name}.sha256: not a hex SHA-256 digest (64 hex characters)")
    risk = _section(f"{name}.risk", RiskLimits, raw["risk"], {}) if "risk" in raw else None
    return TokenSettings(raw["name"], raw["role"], digest, risk)


def _section(section: str, cls: type[Any], given: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    if not isinstance(given, Mapping):
        raise ConfigError(f"[{section}] must be a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in given:
        if key not in fields:
            raise ConfigError(f"unknown setting {section}.{key}")
    kwargs = {k: _coerce(f"{section}.{k}", fields[k].type, v, False) for k, v in given.items()}
    for key, f in fields.items():
        env_name = f"{ENV_PREFIX}{section}_{key}".upper()
        if env_name in env:
            kwargs[key] = _coerce(env_name, f.type, env[env_name], True, f"{section}.{key}")
    return cls(**kwargs)


def build(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    sections: dict[str, Any] = {}
    for section, values in data.items():
        if section not in SECTIONS:
            raise ConfigError(f"unknown section [{section}] (known: {', '.join(SECTIONS)})")
        if not isinstance(values, Mapping):
            raise ConfigError(f"[{section}] must be a table")
    for section, cls in SECTIONS.items():
        sections[section] = _section(section, cls, data.get(section, {}), env)
    config = Config(**sections)
    validate(config)
    return config


def validate(config: Config) -> None:
    t = config.tws
    if not 0 < t.port < 65536:
        raise ConfigError(f"tws.port: {t.port} is not a TCP port")
    if t.client_id < 0:
        raise ConfigError("tws.client_id: must not be negative")
    for name in (
        "connect_timeout",
        "request_timeout",
        "order_timeout",
        "reconnect_initial_delay",
        "reconnect_max_delay",
        "messages_per_second",
    ):
        if getattr(t, name) <= 0:
            raise ConfigError(f"tws.{name}: must be positive")
    if t.message_burst < 1:
        raise ConfigError("tws.message_burst: must be at least 1")
    if t.messages_per_second + t.message_burst >= 50:
        raise ConfigError(
            "tws.messages_per_second + tws.message_burst must stay below IB's 50 messages/s"
        )
    try:
        check_max_server_version(t.max_server_version)
    except ValueError as exc:
        raise ConfigError(f"tws.max_server_version: {exc}") from None
    if t.market_data_type not in (1, 2, 3, 4):
        raise ConfigError("tws.market_data_type: 1 live, 2 frozen, 3 delayed, 4 delayed-frozen")
    host, _, port = config.server.listen.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError(f"server.listen: {config.server.listen!r} is not HOST:PORT")
    if config.metrics.listen:
        m_host, _, m_port = config.metrics.listen.rpartition(":")
        if not m_host or not m_port.isdigit() or not 0 <= int(m_port) < 65536:
            raise ConfigError(f"metrics.listen: {config.metrics.listen!r} is not HOST:PORT")
    if config.bus.url and not config.bus.url.startswith(("nats://", "tls://")):
        raise ConfigError(f"bus.url: {config.bus.url!r} is not a nats://HOST:PORT address")
    if config.bus.standby and not config.bus.url:
        raise ConfigError("bus.standby: a standby needs bus.url (the leader's lease is there)")
    if not 0.5 <= config.bus.lease_ttl <= 60:
        raise ConfigError("bus.lease_ttl: must be 0.5 to 60 seconds")
    if config.server.log_format not in ("text", "json"):
        raise ConfigError(
            f"server.log_format: {config.server.log_format!r} is not one of text, json"
        )
    if config.server.heartbeat_interval <= 0:
        raise ConfigError("server.heartbeat_interval: must be positive")
    if not 0 <= config.server.quote_interval <= 1:
        raise ConfigError("server.quote_interval: must be 0 to 1 second")
    if not config.trading.paper_trading and not config.trading.allow_live:
        raise ConfigError(
            "trading.paper_trading is false: live trading also needs trading.allow_live = true"
        )
    _validate_security(config.security, host)
    _validate_risk("risk", config.risk)
    for i, token in enumerate(config.security.tokens):
        if token.risk is not None:
            _validate_risk(f"security.tokens[{i}].risk", token.risk)


def is_loopback_host(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1 (brackets allowed); False for anything else."""
    host = host.strip().removeprefix("[").removesuffix("]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def _validate_security(s: SecuritySettings, listen_host: str) -> None:
    if bool(s.tls_cert_file) != bool(s.tls_key_file):
        raise ConfigError("security.tls_cert_file and security.tls_key_file go together")
    if s.client_ca_file and not s.tls_cert_file:
        raise ConfigError(
            "security.client_ca_file (mutual TLS) needs TLS: set security.tls_cert_file and "
            "security.tls_key_file"
        )
    for entry in s.allowed_clients:
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            raise ConfigError(
                f"security.allowed_clients: {entry!r} is not an IP address or network"
            ) from None
    names = [t.name for t in s.tokens]
    hashes = [t.sha256 for t in s.tokens]
    for i, token in enumerate(s.tokens):
        if names.count(token.name) > 1:
            raise ConfigError(f"security.tokens[{i}].name: {token.name!r} is used twice")
        if hashes.count(token.sha256) > 1:
            raise ConfigError(f"security.tokens[{i}].sha256: the same token is configured twice")
    if not is_loopback_host(listen_host):
        missing = [
            what
            for what, ok in (("TLS (security.tls_cert_file, security.tls_key_file)",
                              bool(s.tls_cert_file)),
                             ("at least one [[security.tokens]]", bool(s.tokens)))
            if not ok
        ]  # fmt: skip
        if missing:
            raise ConfigError(
                f"server.listen: {listen_host} is not a loopback address; serving on the "
                f"network needs TLS and bearer tokens, missing: {' and '.join(missing)} "
                "(ibkr-broker certs DIR writes certificates, ibkr-broker token NAME ROLE a token)"
            )


def _validate_risk(section: str, r: RiskLimits) -> None:
    """Decimal limits are positive, counts are >= 0, lists name known things."""
    for name in ("max_order_quantity", "max_order_notional", "max_position"):
        value = getattr(r, name)
        try:
            risk.parse_decimal("" if value is None else str(value))
        except ValueError as exc:
            raise ConfigError(f"{section}.{name}: {exc} (empty = no limit)") from None
    for name in ("max_open_orders", "max_orders_per_minute"):
        if getattr(r, name) < 0:
            raise ConfigError(f"{section}.{name}: must not be negative (0 = no limit)")
    for security_type in r.allowed_security_types:
        if security_type not in risk.SECURITY_TYPES:
            known = " ".join(sorted(risk.SECURITY_TYPES))
            raise ConfigError(
                f"{section}.allowed_security_types: {security_type!r} is not one of {known}"
            )
    for symbol in r.allowed_symbols:
        if not symbol.strip() or symbol != symbol.strip().upper():
            raise ConfigError(f"{section}.allowed_symbols: {symbol!r} must be an upper-case symbol")


def load(path: Path | None, env: Mapping[str, str] | None = None) -> Config:
    if path is None:
        return build({}, env)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    return build(data, env)
