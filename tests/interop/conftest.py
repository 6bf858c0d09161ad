"""The SDKs built once per test session from the sources as they are now."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def built_sdks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory the Go examples are built in (its gopath/ holds the SDK for `go test`); the
    TypeScript SDK, its examples and tests are compiled into sdk/ts/dist."""
    assert shutil.which("go"), "Go is required (make test installs Debian's golang packages)"
    assert shutil.which("node"), "Node.js is required (make test installs it)"
    assert (ROOT / "sdk" / "ts" / "node_modules" / ".bin" / "tsc").exists(), "run `make test`"
    out = tmp_path_factory.mktemp("go")
    subprocess.run([str(ROOT / "scripts" / "build_go_examples.sh"), str(out)], check=True,
                   timeout=240)  # fmt: skip
    tsc = ROOT / "sdk" / "ts" / "node_modules" / ".bin" / "tsc"
    subprocess.run([str(tsc), "-p", str(ROOT / "sdk" / "ts")], check=True, timeout=120)
    return out
