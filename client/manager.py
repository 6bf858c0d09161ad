"""AdapterManager: builds BrokerAdapters named in a JSON registry.

    {
      "ibkr": {
        "module": "ibkr_broker.client.adapter",
        "class": "IBKRAdapter",
        "description": "Interactive Brokers through the ibkr-broker gRPC server (make run)",
        "config": {"target": "127.0.0.1:50051", "paper_trading": true, "timeout": 10}
      }
    }

The registry is read from, in order: the `path` argument, $IBKR_BROKER_ADAPTERS, the checkout's
`config/broker_adapters.json`; when none exists (an installed package without a checkout) the
built-in DEFAULT_REGISTRY (the same `ibkr` entry) is used. Every problem raises
AdapterConfigError (a ValueError) saying which file, line or entry is wrong.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .broker_adapter import BrokerAdapter

ENV_PATH = "IBKR_BROKER_ADAPTERS"
CHECKOUT_REGISTRY = Path(__file__).resolve().parent.parent / "config" / "broker_adapters.json"
DEFAULT_REGISTRY: dict[str, dict[str, Any]] = {
    "ibkr": {
        "module": "ibkr_broker.client.adapter",
        "class": "IBKRAdapter",
        "description": "Interactive Brokers through the ibkr-broker gRPC server (make run)",
        "config": {"target": "127.0.0.1:50051", "paper_trading": True, "timeout": 10},
    }
}
_ENTRY_KEYS = {"module", "class", "config", "description"}


class AdapterConfigError(ValueError):
    """The adapter registry, or one of its entries, is unusable."""


class AdapterManager:
    """Loads the registry once; `get(name)` builds (and caches) the named adapter."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = _registry_path(path)
        raw = _load(self.path) if self.path is not None else DEFAULT_REGISTRY
        self._entries = _validate(raw, str(self.path or "<built-in registry>"))
        self._instances: dict[str, BrokerAdapter] = {}

    def names(self) -> list[str]:
        """The adapter names in the registry, in file order."""
        return list(self._entries)

    def config(self, name: str) -> dict[str, Any]:
        """A copy of the named entry's config dict."""
        return dict(self._entry(name).get("config", {}))

    def get(self, name: str) -> BrokerAdapter:
        """The named adapter, built on first use and cached."""
        if name not in self._instances:
            self._instances[name] = self.create(name)
        return self._instances[name]

    def create(self, name: str, overrides: Mapping[str, Any] | None = None) -> BrokerAdapter:
        """A new, uncached adapter; `overrides` are merged over the entry's config."""
        entry = self._entry(name)
        cls = self.adapter_class(name)
        config = {**entry.get("config", {}), **(overrides or {})}
        try:
            return cls(config)  # type: ignore[call-arg]
        except (ValueError, TypeError) as exc:
            raise AdapterConfigError(f"adapter {name!r}: bad config: {exc}") from exc

    def adapter_class(self, name: str) -> type[BrokerAdapter]:
        entry = self._entry(name)
        module_name, class_name = entry["module"], entry["class"]
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise AdapterConfigError(
                f"adapter {name!r}: cannot import module {module_name!r}: {exc}"
            ) from exc
        cls = getattr(module, class_name, None)
        if cls is None:
            raise AdapterConfigError(
                f"adapter {name!r}: module {module_name!r} has no class {class_name!r}"
            )
        if not (isinstance(cls, type) and issubclass(cls, BrokerAdapter)):
            raise AdapterConfigError(
                f"adapter {name!r}: {module_name}.{class_name} is not a BrokerAdapter subclass"
            )
        return cls

    def close(self) -> None:
        """Close every adapter built so far."""
        for adapter in self._instances.values():
            adapter.close()
        self._instances.clear()

    def _entry(self, name: str) -> dict[str, Any]:
        if name not in self._entries:
            known = ", ".join(self._entries) or "none"
            raise AdapterConfigError(f"unknown adapter {name!r} (registry has: {known})")
        return self._entries[name]


BrokerManager = AdapterManager


def _registry_path(path: str | os.PathLike[str] | None) -> Path | None:
    if path is not None:
        return Path(path)
    from_env = os.environ.get(ENV_PATH, "").strip()
    if from_env:
        return Path(from_env)
    return CHECKOUT_REGISTRY if CHECKOUT_REGISTRY.is_file() else None


def _load(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AdapterConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AdapterConfigError(
            f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}"
        ) from exc


def _validate(raw: Any, where: str) -> dict[str, dict[str, Any]]:
    if not isinstance(raw, dict):
        raise AdapterConfigError(f"{where}: the registry must be a JSON object of adapters")
    entries: dict[str, dict[str, Any]] = {}
    for name, entry in raw.items():
        if not isinstance(entry, dict):
            raise AdapterConfigError(f"{where}: adapter {name!r} must be an object")
        unknown = set(entry) - _ENTRY_KEYS
        if unknown:
            raise AdapterConfigError(
                f"{where}: adapter {name!r} has unknown key(s) {', '.join(sorted(unknown))}"
            )
        for key in ("module", "class"):
            if not isinstance(entry.get(key), str) or not entry[key]:
                raise AdapterConfigError(f"{where}: adapter {name!r} needs a {key!r} string")
        if not isinstance(entry.get("config", {}), dict):
            raise AdapterConfigError(f"{where}: adapter {name!r}: 'config' must be an object")
        entries[name] = entry
    return entries
