"""The README's Python examples, run as written against the real server and the simulator."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from .client_env import ThreadedServerEnv

pytestmark = [pytest.mark.timeout(90), pytest.mark.usefixtures("tws_era")]

README = Path(__file__).resolve().parents[2] / "README.md"


def python_examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_the_readme_has_python_examples() -> None:
    examples = python_examples()
    assert len(examples) >= 2
    assert any("IBKRAdapter" in e for e in examples) and any("BrokerClient" in e for e in examples)


@pytest.mark.parametrize("index", range(len(python_examples())))
def test_a_readme_python_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index: int
) -> None:
    code = python_examples()[index]
    with ThreadedServerEnv(tmp_path) as env:
        monkeypatch.setenv("IBKR_BROKER_TARGET", env.target)
        for variable in ("IBKR_BROKER_TOKEN", "IBKR_BROKER_CA_CERT", "IBKR_BROKER_CLIENT_CERT",
                         "IBKR_BROKER_CLIENT_KEY", "IBKR_BROKER_TIMEOUT"):  # fmt: skip
            monkeypatch.delenv(variable, raising=False)
        # The examples name the default address; the test server listens on its own port.
        code = code.replace("127.0.0.1:50051", env.target)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, f"README.md python example {index}", "exec"), {})
    assert printed.getvalue()  # each example shows something
