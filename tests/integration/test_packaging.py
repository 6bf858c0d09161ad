"""The built wheel is what users install: it holds every package, installs into a fresh virtual
environment (not editable), and from another directory `ibkr-broker serve --sim` serves an order
placed through the installed client. Without the `server` extra, `serve` names the extra.

The wheel and its dependencies are built once into a wheelhouse (from pip's cache); the fresh
environment installs from it with --no-index, so the install needs no index.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.waiting import wait_until_sync

ROOT = Path(__file__).resolve().parents[2]
# Source directory -> import name, as pyproject's package-dir maps them.
SOURCE_ROOTS = {
    "protos/ibkr_broker": "ibkr_broker",
    "server": "ibkr_broker.server",
    "client": "ibkr_broker.client",
    "simulator": "ibkr_broker.simulator",
}
COPY_IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "node_modules", "build", "dist", "*.egg-info", "__pycache__", ".*cache",
    ".lint", ".tools", "data", "gen", ".hypothesis",
)  # fmt: skip

pytestmark = pytest.mark.timeout(600)


def run(
    *cmd: object, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def checked(*cmd: object, cwd: Path | None = None, timeout: float = 300) -> str:
    result = run(*cmd, cwd=cwd, timeout=timeout)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel and every dependency's wheel, built from a copy of the tree."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=COPY_IGNORE)  # the build leaves nothing in the checkout
    house = base / "wheelhouse"
    checked(
        sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", house,
        "-c", ROOT / "constraints.txt",
        f"{source}[server,cli]", timeout=540,
    )  # fmt: skip
    return house


def project_wheel(house: Path) -> Path:
    (wheel,) = house.glob("ibkr_broker-*.whl")
    return wheel


def test_the_wheel_holds_every_package_and_no_generic_top_level_name(wheelhouse: Path) -> None:
    names = zipfile.ZipFile(project_wheel(wheelhouse)).namelist()
    packages = {n.rsplit("/", 1)[0] for n in names if n.endswith("/__init__.py")}
    expected = set()
    for directory, import_name in SOURCE_ROOTS.items():
        for init in (ROOT / directory).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / directory)
            if "node_modules" in relative.parts or "__pycache__" in relative.parts:
                continue
            expected.add("/".join([*import_name.split("."), *relative.parts]))
    assert expected - packages == set(), "packages missing from the wheel"
    top_level = {n.split("/", 1)[0] for n in names if "/" in n}
    assert {t for t in top_level if not t.endswith(".dist-info")} == {"ibkr_broker"}


@pytest.fixture(scope="module")
def fresh_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    venv.create(env_dir, with_pip=True)
    return env_dir


def install(env_dir: Path, house: Path, requirement: str) -> None:
    checked(
        env_dir / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-index",
        "--find-links", house, requirement,
    )  # fmt: skip


def test_base_install_is_the_client_only_and_serve_names_the_missing_extra(
    wheelhouse: Path, fresh_env: Path, tmp_path: Path
) -> None:
    install(fresh_env, wheelhouse, str(project_wheel(wheelhouse)))
    code = (
        "import ibkr_broker, ibkr_broker.client\n"
        "from ibkr_broker.v1 import broker_service_pb2_grpc\n"
        "import importlib.util as u\n"
        "assert u.find_spec('ibapi') is None, 'the base install must not pull ibapi'\n"
        "print(ibkr_broker.__file__, broker_service_pb2_grpc.BrokerServiceStub.__name__)\n"
    )
    out = checked(fresh_env / "bin" / "python", "-c", code, cwd=tmp_path)
    assert "BrokerServiceStub" in out
    assert str(fresh_env) in out, "imported from the checkout instead of the installed wheel"
    serve = run(fresh_env / "bin" / "ibkr-broker", "serve", "--sim", cwd=tmp_path, timeout=60)
    assert serve.returncode == 2
    assert "ibkr-broker[server]" in serve.stderr, serve.stderr
    assert "server extra" in serve.stderr


@pytest.fixture
def served(wheelhouse: Path, fresh_env: Path, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """`ibkr-broker serve --sim` of the installed wheel, started from a directory of its own."""
    wheel = project_wheel(wheelhouse)
    install(fresh_env, wheelhouse, f"ibkr-broker[server,cli] @ {wheel.as_uri()}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [fresh_env / "bin" / "ibkr-broker", "serve", "--sim", "--listen", "127.0.0.1:0"],
        cwd=elsewhere, stdout=subprocess.PIPE, stderr=log, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"on (127\.0\.0\.1:\d+) \(TWS simulator", line)
        assert match, f"{line!r} {(tmp_path / 'serve.log').read_text()}"
        yield elsewhere, match.group(1)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        assert "Traceback" not in (tmp_path / "serve.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_installed_wheel_serves_an_order_from_another_directory(
    served: tuple[Path, str], fresh_env: Path
) -> None:
    elsewhere, target = served
    cli = fresh_env / "bin" / "ibkr-broker"

    def ready() -> bool:
        status = run(cli, "status", "--target", target, "--json", cwd=elsewhere, timeout=30)
        return status.returncode == 0 and json.loads(status.stdout)["ready"] is True

    wait_until_sync(ready, timeout=30, what="the installed server is ready")
    buy = [cli, "buy", "AAPL", "3", "--limit", "500", "--target", target, "--json"]
    placed = json.loads(checked(*buy, cwd=elsewhere))
    assert placed["order_id"]
    orders = json.loads(checked(cli, "orders", "--target", target, "--json", cwd=elsewhere))
    assert [o["order_id"] for o in orders] == [placed["order_id"]]
    assert orders[0]["symbol"] == "AAPL"
    assert (elsewhere / "data").is_dir(), "the server keeps its store in its working directory"
