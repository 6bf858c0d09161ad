"""The SDKs' committed generated code matches protos/ (regenerated with the tools `make test`
installs, scripts/gen_sdk.sh), and the Go module's path is the one the .proto files name."""

from __future__ import annotations

import filecmp
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROTOS = ROOT / "protos" / "ibkr_broker" / "v1"
pytestmark = pytest.mark.timeout(120)


def differences(committed: Path, fresh: Path) -> list[str]:
    """Files missing, extra or different between two trees."""
    found: list[str] = []
    compared = filecmp.dircmp(committed, fresh)
    found += [f"only committed: {name}" for name in compared.left_only]
    found += [f"only generated: {name}" for name in compared.right_only]
    found += [f"differs: {name}" for name in compared.diff_files]
    for name in compared.common_dirs:
        found += [f"{name}/{d}" for d in differences(committed / name, fresh / name)]
    return found


def test_go_package_names_the_go_module() -> None:
    go_mod = (ROOT / "sdk" / "go" / "go.mod").read_text()
    module = re.search(r"^module (\S+)$", go_mod, re.MULTILINE)
    assert module, "sdk/go/go.mod has no module line"
    expected = f'option go_package = "{module[1]}/ibkr_broker/v1;ibkrbrokerv1";'
    for proto in sorted(PROTOS.glob("*.proto")):
        assert expected in proto.read_text(), f"{proto.name}: go_package is not {expected}"


@pytest.mark.parametrize(
    ("language", "tool", "generated"),
    [
        ("go", "protoc-gen-go-grpc", "sdk/go/ibkr_broker"),
        ("ts", str(ROOT / "sdk/ts/node_modules/.bin/protoc-gen-es"), "sdk/ts/src/gen"),
    ],
)
def test_generated_sdk_code_is_fresh(
    tmp_path: Path, language: str, tool: str, generated: str
) -> None:
    assert shutil.which(tool), f"{tool} is missing: `make test` installs it"
    subprocess.run([str(ROOT / "scripts" / "gen_sdk.sh"), language, str(tmp_path)], check=True,
                   timeout=100)
    stale = differences(ROOT / generated, tmp_path / generated)
    assert not stale, f"run `make gen-{language}` and commit: {stale}"
