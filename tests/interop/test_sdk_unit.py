"""The SDKs' own tests: the Go package's `go test` (GOPATH mode, Debian's packages) and the
TypeScript package's node:test suite: typed errors from ErrorInfo, and for an unreachable server
in unary calls and streams."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(240)


def test_the_go_sdk_passes_its_tests(built_sdks: Path) -> None:
    env = {**os.environ, "GO111MODULE": "off", "GOFLAGS": "",
           "GOPATH": f"{built_sdks / 'gopath'}:/usr/share/gocode"}  # fmt: skip
    done = subprocess.run(
        ["go", "test", "-count=1", "-v", "github.com/ibkr-broker/ibkr-broker/sdk/go/ibkrbroker"],
        env=env, capture_output=True, text=True, timeout=200,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("--- PASS") == 3 and "--- FAIL" not in done.stdout, done.stdout


def test_the_typescript_sdk_passes_its_tests(built_sdks: Path) -> None:
    done = subprocess.run(
        ["node", "--test", str(ROOT / "sdk" / "ts" / "dist" / "test" / "errors.test.js")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# pass 3" in done.stdout and "# fail 0" in done.stdout, done.stdout
