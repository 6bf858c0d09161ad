"""Test-suite options.

- `--tws HOST:PORT` runs the conformance tests (tests/conformance) against a real paper TWS or
  IB Gateway; without it they are not collected at all. `--tws-max-server-version N` is the
  ceiling the server offers there (default: the server's own default; 178 for the text era),
  `--tws-expect-version N` the version TWS must answer (default: any the server accepts).
- `--tws-era text|protobuf|both` (default both): the protocol eras the server's integration
  tests run in. A test (or module) that uses the `tws_era` fixture runs once per era: the
  simulator it starts answers the server's ibapi (which offers 100..226) with 178 (text) or with
  the newest protobuf-era version the suite proves (tests/integration/server_env.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--tws",
        metavar="HOST:PORT",
        default="",
        help="run tests/conformance against this paper TWS / IB Gateway API address",
    )
    parser.addoption(
        "--tws-max-server-version",
        type=int,
        default=0,
        metavar="N",
        help="conformance: the highest server version offered to TWS (default: the server's)",
    )
    parser.addoption(
        "--tws-expect-version",
        type=int,
        default=0,
        metavar="N",
        help="conformance: the server version TWS must negotiate (default: not checked)",
    )
    parser.addoption(
        "--tws-era",
        choices=("text", "protobuf", "both"),
        default="both",
        help="protocol eras the server's integration tests run in (default both)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "tws_era" not in metafunc.fixturenames:
        return
    from tests.integration.server_env import TWS_ERAS

    chosen = metafunc.config.getoption("--tws-era")
    eras = [(name, version) for name, version in TWS_ERAS.items() if chosen in (name, "both")]
    metafunc.parametrize("tws_era", [v for _, v in eras], ids=[f"tws-{n}-{v}" for n, v in eras],
                         indirect=True)


@pytest.fixture
def tws_era(request: pytest.FixtureRequest) -> Iterator[int]:
    """The server version the simulators started by this test answer ibapi's full offer with."""
    from tests.integration import server_env

    saved = server_env.SIM_MAX_SERVER_VERSION
    server_env.SIM_MAX_SERVER_VERSION = request.param
    try:
        yield request.param
    finally:
        server_env.SIM_MAX_SERVER_VERSION = saved


def pytest_ignore_collect(collection_path, config):  # type: ignore[no-untyped-def]
    if collection_path.name == "conformance" and not config.getoption("--tws"):
        return True
    return None
