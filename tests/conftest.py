"""Test-suite options. `--tws HOST:PORT` runs the conformance tests (tests/conformance) against
a real paper TWS or IB Gateway; without it they are not collected at all."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--tws",
        metavar="HOST:PORT",
        default="",
        help="run tests/conformance against this paper TWS / IB Gateway API address",
    )


def pytest_ignore_collect(collection_path, config):  # type: ignore[no-untyped-def]
    if collection_path.name == "conformance" and not config.getoption("--tws"):
        return True
    return None
