"""`pip install .` into a new virtual environment gives a working, importable distribution."""

from __future__ import annotations

import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_pip_install_into_new_venv_imports_from_elsewhere(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # A copy of the tree, so the build leaves nothing behind in the checkout.
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
        timeout=540,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import ibkr_broker, ibkr_broker.client\n"
        "from ibkr_broker.v1 import broker_service_pb2, broker_service_pb2_grpc, order_pb2\n"
        "import importlib.util as u\n"
        "assert u.find_spec('ibapi') is None, 'the base install must not pull ibapi'\n"
        "print(ibkr_broker.__version__, broker_service_pb2_grpc.BrokerServiceStub.__name__)\n"
    )
    result = subprocess.run(
        [python, "-c", code], cwd=elsewhere, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "BrokerServiceStub" in result.stdout
    assert (
        str(ROOT)
        not in subprocess.run(
            [python, "-c", "import ibkr_broker; print(ibkr_broker.__file__)"],
            cwd=elsewhere,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    ), "imported from the checkout instead of the installed distribution"
    cli = subprocess.run(
        [env_dir / "bin" / "ibkr-broker", "--version"], capture_output=True, text=True, check=True
    )
    assert cli.stdout.strip().startswith("ibkr-broker ")
