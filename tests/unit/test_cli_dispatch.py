"""The `ibkr-broker` dispatcher: a missing extra is named with the command that installs it."""

from __future__ import annotations

import importlib.util

import pytest
from ibkr_broker import cli


def test_serve_without_the_server_extra_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "ibapi" else real_find_spec(name, *a),
    )
    assert cli.main(["serve", "--sim"]) == 2
    err = capsys.readouterr().err
    assert "ibkr-broker serve: needs the server extra" in err
    assert "pip install 'ibkr-broker[server]'" in err
    assert "'ibapi'" in err


def test_a_missing_module_of_the_project_itself_says_the_install_is_incomplete() -> None:
    missing = ModuleNotFoundError("No module named 'ibkr_broker.server.session'",
                                  name="ibkr_broker.server.session")  # fmt: skip
    message = cli.not_available("serve", missing)
    assert "incomplete" in message
    assert "extra" not in message


def test_a_client_command_names_the_cli_extra() -> None:
    message = cli.not_available("positions", ModuleNotFoundError("x", name="rich"))
    assert "ibkr-broker[cli]" in message
