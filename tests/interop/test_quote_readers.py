"""The benchmarks' quote readers (bench/quote_readers.py and its Go twin bench/go/quote_readers)
against the real server and simulator: the same command line gives the same JSON lines, a
ready line and then deliveries with their latency; the Go reader builds offline, passes its
own tests and says clearly what is wrong with its input."""

from __future__ import annotations

import asyncio
import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.server_env import ServerEnv

ROOT = Path(__file__).resolve().parents[2]
GO_SOURCE = ROOT / "bench" / "go" / "quote_readers"
pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def go_reader(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go reader built as the benches build it (scripts/build_go_examples.sh)."""
    out = tmp_path_factory.mktemp("go")
    subprocess.run([str(ROOT / "scripts" / "build_go_examples.sh"), str(out),
                    "bench/go/quote_readers"], check=True, timeout=200)  # fmt: skip
    return out


def reader_command(kind: str, go_dir: Path, *args: str) -> list[str]:
    if kind == "go":
        return [str(go_dir / "quote_readers"), *args]
    return [sys.executable, str(ROOT / "bench" / "quote_readers.py"), *args]


async def run_reader(command: list[str]) -> tuple[int, list[str], str]:
    """Exit status, stdout lines and stderr of a reader (which bounds itself; 60 s at most)."""
    proc = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode().splitlines(), err.decode()


@pytest.mark.parametrize("kind", ["python", "go"])
async def test_a_reader_prints_ready_then_deliveries_with_latency(
    tmp_path: Path, go_reader: Path, kind: str
) -> None:
    async with ServerEnv(tmp_path) as env:
        code, lines, err = await run_reader(reader_command(
            kind, go_reader, env.target, "2", "1", "--symbols", "AAPL,MSFT", "--ready-limit", "30",
            "--latencies"))  # fmt: skip
    assert code == 0 and len(lines) == 2, (lines, err)
    ready, figures = json.loads(lines[0]), json.loads(lines[1])
    assert list(ready) == ["ready"] and ready["ready"] >= 0
    assert list(figures) == ["deliveries", "seconds", "p50_ms", "p99_ms", "latencies"]
    assert figures["deliveries"] > 0 and figures["seconds"] >= 1.0
    samples = figures["latencies"]
    assert 0 < len(samples) <= figures["deliveries"] and samples == sorted(samples)
    # update_time decoded: tick-to-receipt latencies, not seconds since 1970 or garbage
    assert all(-1000 < x < 30_000 for x in samples), samples[:5] + samples[-5:]
    assert not math.isnan(figures["p50_ms"]) and figures["p50_ms"] <= figures["p99_ms"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_the_go_reader_reports_an_unreachable_server_as_an_error_line(
    go_reader: Path,
) -> None:
    code, lines, err = await run_reader(reader_command(
        "go", go_reader, f"127.0.0.1:{closed_port()}", "2", "1", "--ready-limit", "20"))
    assert code == 0 and len(lines) == 1, (lines, err)
    error = json.loads(lines[0])["error"]
    assert "failed before every stream was ready" in error and "refused" in error, error


@pytest.mark.parametrize(("args", "says"), [
    (["127.0.0.1:1", "2"], "usage: quote_readers TARGET SUBSCRIBERS SECONDS"),
    (["127.0.0.1:1", "two", "1"], 'SUBSCRIBERS must be a positive whole number, not "two"'),
    (["127.0.0.1:1", "2", "soon"], 'SECONDS must be a number >= 0, not "soon"'),
    (["127.0.0.1:1", "2", "1", "--ready-limit", "0"], "--ready-limit must be a number > 0"),
    (["127.0.0.1:1", "2", "1", "--colour"], "flag provided but not defined: -colour"),
])  # fmt: skip
async def test_the_go_reader_names_what_is_wrong_with_its_command_line(
    go_reader: Path, args: list[str], says: str
) -> None:
    code, lines, err = await run_reader(reader_command("go", go_reader, *args))
    assert code == 2 and lines == [] and says in err, (code, lines, err)


def test_the_go_reader_passes_its_own_tests(go_reader: Path) -> None:
    env = {**os.environ, "GO111MODULE": "off", "GOFLAGS": "",
           "GOPATH": f"{go_reader / 'gopath'}:/usr/share/gocode"}  # fmt: skip
    done = subprocess.run(["go", "test", "-count=1", "-v", "."], cwd=GO_SOURCE, env=env,
                          capture_output=True, text=True, timeout=200)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("--- PASS") == 3 and "--- FAIL" not in done.stdout, done.stdout
