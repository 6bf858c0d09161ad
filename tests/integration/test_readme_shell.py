"""The README's option commands (terminal section), run by bash as written against the real
server and simulator: the expiry comes from `chain`, so the example stays valid as the calendar
moves (options expire; a fixed date in the README once stopped working)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from .client_env import ThreadedServerEnv

pytestmark = [pytest.mark.timeout(120)]

README = Path(__file__).resolve().parents[2] / "README.md"


def option_lines() -> list[str]:
    """The lines of the README's shell blocks that set or use $EXPIRY, in order."""
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if "EXPIRY" in line]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServerEnv]:
    with ThreadedServerEnv(tmp_path_factory.mktemp("readme-shell")) as running:
        yield running


def test_readme_option_example_takes_its_expiry_from_chain(env: ThreadedServerEnv) -> None:
    lines = option_lines()
    assert lines[0].startswith("EXPIRY=$(ibkr-broker chain ")
    assert not any(re.search(r"\b20\d{6}\b", line) for line in lines), "a fixed date"
    assert any("--option" in line for line in lines) and any("combo" in line for line in lines)
    bin_dir = str(Path(sys.executable).parent)  # the venv's ibkr-broker and python3
    shell_env = {
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "IBKR_BROKER_TARGET": env.target,
    }
    script = "set -euo pipefail\n" + "\n".join(lines) + '\necho "expiry=$EXPIRY"\n'
    done = subprocess.run(
        ["bash", "-c", script], env=shell_env, capture_output=True, text=True, timeout=100
    )
    assert done.returncode == 0, done.stdout + done.stderr
    expiry = re.search(r"expiry=(\d{8})$", done.stdout.strip())
    assert expiry is not None, done.stdout
    assert expiry.group(1) > datetime.now(UTC).strftime("%Y%m%d")  # a listed, future expiry
    assert "what-if" in done.stdout.lower() or "margin" in done.stdout.lower(), done.stdout
