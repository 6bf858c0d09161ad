"""AdapterManager: the shipped registry, and a clear error for every kind of bad entry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ibkr_broker.client import AdapterConfigError, AdapterManager, BrokerManager, IBKRAdapter
from ibkr_broker.client import manager as manager_module

pytestmark = pytest.mark.timeout(10)
ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "broker_adapters.json"


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(manager_module.ENV_PATH, raising=False)


def write(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "adapters.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
    return path


def entry(**changes: Any) -> dict[str, Any]:
    return {"module": "ibkr_broker.client.adapter", "class": "IBKRAdapter", "config": {}, **changes}


def test_shipped_registry_loads_and_builds_an_ibkr_adapter() -> None:
    manager = AdapterManager()
    assert manager.path == SHIPPED
    assert manager.names() == ["ibkr"]
    adapter = manager.get("ibkr")
    assert isinstance(adapter, IBKRAdapter)
    assert adapter.paper_trading is True
    assert adapter.client.config.target == "127.0.0.1:50051"
    assert adapter.client.config.timeout == 10
    assert manager.get("ibkr") is adapter  # cached
    fresh = manager.create("ibkr", {"target": "127.0.0.1:1"})
    assert fresh is not adapter and fresh.client.config.target == "127.0.0.1:1"  # type: ignore[attr-defined]
    manager.close()
    fresh.close()
    assert BrokerManager is AdapterManager


def test_built_in_default_is_the_shipped_file(monkeypatch: pytest.MonkeyPatch) -> None:
    assert json.loads(SHIPPED.read_text()) == manager_module.DEFAULT_REGISTRY
    monkeypatch.setattr(manager_module, "CHECKOUT_REGISTRY", Path("/nonexistent/registry.json"))
    manager = AdapterManager()
    assert manager.path is None and manager.names() == ["ibkr"]
    assert manager.config("ibkr")["paper_trading"] is True


def test_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, {"paper": entry(config={"target": "10.0.0.1:50051"})})
    monkeypatch.setenv(manager_module.ENV_PATH, str(path))
    manager = AdapterManager()
    assert manager.names() == ["paper"]
    assert manager.config("paper") == {"target": "10.0.0.1:50051"}


def test_unknown_name(tmp_path: Path) -> None:
    manager = AdapterManager(write(tmp_path, {"ibkr": entry()}))
    with pytest.raises(
        AdapterConfigError, match=r"unknown adapter 'alpaca' \(registry has: ibkr\)"
    ):
        manager.get("alpaca")


def test_missing_module(tmp_path: Path) -> None:
    manager = AdapterManager(write(tmp_path, {"x": entry(module="no_such_module_here")}))
    with pytest.raises(AdapterConfigError, match="cannot import module 'no_such_module_here'"):
        manager.get("x")


def test_missing_class(tmp_path: Path) -> None:
    manager = AdapterManager(write(tmp_path, {"x": entry(**{"class": "NoSuchAdapter"})}))
    with pytest.raises(AdapterConfigError, match="has no class 'NoSuchAdapter'"):
        manager.get("x")


def test_class_that_is_not_a_broker_adapter(tmp_path: Path) -> None:
    for name in ("BrokerClient", "stock"):
        manager = AdapterManager(write(tmp_path, {"x": entry(module="ibkr_broker.client",
                                                              **{"class": name})}))  # fmt: skip
        with pytest.raises(AdapterConfigError, match="is not a BrokerAdapter subclass"):
            manager.get("x")


def test_invalid_json_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n  "ibkr": {\n    "module": "x",\n    "class": "Y",,\n  }\n}\n')
    with pytest.raises(AdapterConfigError) as caught:
        AdapterManager(path)
    assert str(caught.value).startswith(f"{path}:4:")
    assert "invalid JSON" in str(caught.value)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(AdapterConfigError, match="cannot read"):
        AdapterManager(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ([], "must be a JSON object"),
        ({"x": "IBKRAdapter"}, "'x' must be an object"),
        ({"x": {"class": "IBKRAdapter"}}, "needs a 'module' string"),
        ({"x": {"module": "m", "class": 3}}, "needs a 'class' string"),
        ({"x": entry(config=[1])}, "'config' must be an object"),
        ({"x": entry(modul="typo")}, "unknown key"),
    ],
)
def test_wrong_shapes(tmp_path: Path, content: Any, message: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(AdapterConfigError, match=message) as caught:
        AdapterManager(path)
    assert str(path) in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_bad_adapter_config_is_reported_with_the_name(tmp_path: Path) -> None:
    manager = AdapterManager(write(tmp_path, {"ibkr": entry(config={"paper_trading": "no"})}))
    with pytest.raises(AdapterConfigError, match="adapter 'ibkr': bad config: paper_trading"):
        manager.get("ibkr")
