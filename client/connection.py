"""Where and how the client connects: target, token, TLS files, deadline, retry policy.

Arguments win over the environment, the environment over the defaults:

    IBKR_BROKER_TARGET       host:port of the server            (default 127.0.0.1:50051)
    IBKR_BROKER_TOKEN        sent as `authorization: Bearer <token>` on every call
    IBKR_BROKER_CA_CERT      PEM root CA: use TLS and trust this CA
    IBKR_BROKER_CLIENT_CERT  PEM client certificate (mutual TLS; needs IBKR_BROKER_CLIENT_KEY)
    IBKR_BROKER_CLIENT_KEY   PEM client private key
    IBKR_BROKER_TIMEOUT      default deadline of unary calls in seconds (default 10)
"""

from __future__ import annotations

import dataclasses
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import grpc

DEFAULT_TARGET = "127.0.0.1:50051"
DEFAULT_TIMEOUT = 10.0

ENV = {
    "target": "IBKR_BROKER_TARGET",
    "token": "IBKR_BROKER_TOKEN",
    "ca_cert": "IBKR_BROKER_CA_CERT",
    "client_cert": "IBKR_BROKER_CLIENT_CERT",
    "client_key": "IBKR_BROKER_CLIENT_KEY",
    "timeout": "IBKR_BROKER_TIMEOUT",
}


class ClientSettings(TypedDict, total=False):
    """The keyword arguments of BrokerClient and AsyncBrokerClient besides `target`.

    Each given value (not None) overrides `config`, or the environment when `config` is None.
    """

    token: str | None
    ca_cert: str | None
    client_cert: str | None
    client_key: str | None
    timeout: float | None
    config: ClientConfig | None


@dataclass(frozen=True)
class ClientConfig:
    """Connection settings of a BrokerClient (immutable; `replace()` makes a changed copy)."""

    target: str = DEFAULT_TARGET
    #: Bearer token sent as `authorization` metadata; None = none. Never shown by repr().
    token: str | None = dataclasses.field(default=None, repr=False)
    #: PEM files (paths). A CA, a client certificate or `tls=True` makes the channel secure.
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    #: Use TLS with the system's roots even without `ca_cert`.
    tls: bool = False
    #: Expected server name in its certificate when it differs from the target host.
    tls_server_name: str | None = None
    #: Default deadline of every unary call, seconds.
    timeout: float = DEFAULT_TIMEOUT
    #: Extra attempts of a unary call failing with UNAVAILABLE or RESOURCE_EXHAUSTED.
    retries: int = 3
    #: First retry delay in seconds; doubles per attempt up to max_backoff (with jitter).
    backoff: float = 0.2
    max_backoff: float = 5.0
    #: Consecutive failed re-opens after which a stream gives up and raises.
    stream_retries: int = 10

    def __post_init__(self) -> None:
        if not isinstance(self.target, str) or not self.target:
            raise ValueError(f"target must be host:port, got {self.target!r}")
        for name in ("timeout", "backoff", "max_backoff"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number of seconds, got {value!r}")
        for name in ("retries", "stream_retries"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an integer, got {value!r}")
        if self.timeout <= 0:
            raise ValueError(f"timeout must be positive, got {self.timeout!r}")
        if self.retries < 0 or self.stream_retries < 0:
            raise ValueError("retries and stream_retries must be >= 0")
        if self.backoff < 0 or self.max_backoff < 0:
            raise ValueError("backoff and max_backoff must be >= 0")
        if bool(self.client_cert) != bool(self.client_key):
            raise ValueError("client_cert and client_key must be given together")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> ClientConfig:
        """Defaults, then IBKR_BROKER_* variables, then the non-None `overrides`."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for field, variable in ENV.items():
            text = env.get(variable, "").strip()
            if text:
                values[field] = text
        if "timeout" in values:
            try:
                values["timeout"] = float(values["timeout"])
            except ValueError:
                raise ValueError(f"{ENV['timeout']} must be a number of seconds") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown client setting(s): {', '.join(sorted(unknown))}")
        return cls(**values)

    @classmethod
    def resolve(cls, config: ClientConfig | None, **overrides: Any) -> ClientConfig:
        """`config` (else the environment) with every override that is not None applied."""
        return (config if config is not None else cls.from_env()).replace(**overrides)

    @classmethod
    def for_client(cls, target: str | None, settings: ClientSettings) -> ClientConfig:
        """The configuration a client's arguments ask for (see ClientSettings)."""
        unknown = set(settings) - set(ClientSettings.__annotations__)
        if unknown:
            raise TypeError(f"unknown client argument(s): {', '.join(sorted(unknown))}")
        overrides: dict[str, Any] = {k: v for k, v in settings.items() if k != "config"}
        return cls.resolve(settings.get("config"), target=target, **overrides)

    def open_channel(self, *, aio: bool) -> Any:
        """A grpc (or grpc.aio) channel to `target`, secure when TLS settings are given."""
        module: Any = grpc.aio if aio else grpc
        options = self.channel_options()
        if self.secure:
            return module.secure_channel(self.target, self.channel_credentials(), options=options)
        return module.insecure_channel(self.target, options=options)

    def replace(self, **changes: Any) -> ClientConfig:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def secure(self) -> bool:
        return bool(self.tls or self.ca_cert or self.client_cert)

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()

    def channel_options(self) -> list[tuple[str, Any]]:
        options: list[tuple[str, Any]] = [("grpc.primary_user_agent", "ibkr-broker-client")]
        if self.tls_server_name:
            options.append(("grpc.ssl_target_name_override", self.tls_server_name))
        return options

    def channel_credentials(self) -> Any:
        """grpc.ssl_channel_credentials from the PEM files (call only when `secure`)."""
        return grpc.ssl_channel_credentials(
            root_certificates=_read(self.ca_cert, "ca_cert"),
            private_key=_read(self.client_key, "client_key"),
            certificate_chain=_read(self.client_cert, "client_cert"),
        )

    def backoff_delay(self, attempt: int) -> float:
        """Delay before retry number `attempt` (0-based): exponential, capped, jittered."""
        ceiling = min(self.max_backoff, self.backoff * (2.0**attempt))
        return ceiling * random.uniform(0.5, 1.0)


def _read(path: str | None, name: str) -> bytes | None:
    if not path:
        return None
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise ValueError(f"{name}: cannot read {path}: {exc.strerror or exc}") from None
