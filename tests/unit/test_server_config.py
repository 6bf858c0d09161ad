"""Server configuration: file, environment overrides, and errors that name the setting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ibkr_broker.server.config import ConfigError, build, load

ROOT = Path(__file__).resolve().parents[2]


def test_example_config_documents_every_setting_and_loads() -> None:
    example = ROOT / "config" / "server.example.toml"
    config = load(example, env={})
    text = example.read_text()
    for section in ("server", "tws", "trading", "security", "risk"):
        for name in getattr(config, section).__dataclass_fields__:
            assert f"{name} =" in text, f"{section}.{name} is not documented"
    assert config.trading.paper_trading and not config.trading.allow_live
    assert config.server.listen.startswith("127.0.0.1:")


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[tws]\nport = 4002\n")
    config = load(
        path, env={"IBKR_BROKER_TWS_PORT": "4003", "IBKR_BROKER_TRADING_ALLOW_LIVE": "yes"}
    )
    assert config.tws.port == 4003 and config.trading.allow_live


@pytest.mark.parametrize(
    ("data", "env", "names"),
    [
        ({"tws": {"prot": 1}}, {}, "tws.prot"),
        ({"nope": {}}, {}, "[nope]"),
        ({"tws": {"port": "7497"}}, {}, "tws.port"),
        ({"tws": {"port": 70000}}, {}, "tws.port"),
        ({}, {"IBKR_BROKER_TWS_CLIENT_ID": "seven"}, "IBKR_BROKER_TWS_CLIENT_ID"),
        ({"trading": {"paper_trading": False}}, {}, "allow_live"),
        ({"tws": {"messages_per_second": 80.0}}, {}, "messages_per_second"),
        ({"server": {"listen": "nowhere"}}, {}, "server.listen"),
        ({"tws": {"request_timeout": float("nan")}}, {}, "tws.request_timeout"),
        ({"tws": {"max_server_version": 99}}, {}, "tws.max_server_version: 99 is outside"),
        ({"tws": {"max_server_version": 227}}, {}, "tws.max_server_version: 227 is outside"),
        ({"tws": {"max_server_version": "226"}}, {}, "tws.max_server_version"),
    ],
)
def test_bad_settings_are_named(data: dict, env: dict, names: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=re.escape(names)):
        build(data, env)


def test_malformed_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[tws\nport = ")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load(path, env={})
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "missing.toml", env={})


def test_max_server_version_defaults_to_the_proven_version_and_takes_any_ibapi_speaks() -> None:
    from ibapi.server_versions import MAX_CLIENT_VER, MIN_CLIENT_VER
    from ibkr_broker.server.ib.versions import PROVEN_MAX_SERVER_VERSION

    assert build({}, {}).tws.max_server_version == PROVEN_MAX_SERVER_VERSION
    for version in (MIN_CLIENT_VER, 178, 213, MAX_CLIENT_VER):
        config = build({"tws": {"max_server_version": version}}, {})
        assert config.session_config().max_server_version == version
    env = {"IBKR_BROKER_TWS_MAX_SERVER_VERSION": "178"}
    assert build({}, env).tws.max_server_version == 178
