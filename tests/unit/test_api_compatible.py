"""The API stays compatible: `buf breaking` against the released v1 contract (the committed
image protos/released/v1-0.1.0.binpb, the contract of ibkr-broker 0.1.0) finds nothing, and the
same check does fail on a change that would break a Go or TypeScript client."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUF = Path(sys.executable).parent / "buf"
RELEASED = ROOT / "protos" / "released" / "v1-0.1.0.binpb"

pytestmark = pytest.mark.timeout(120)


def breaking(module_root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BUF), "breaking", "--against", str(RELEASED), "--error-format", "text"],
        cwd=module_root, capture_output=True, text=True, timeout=100,
    )  # fmt: skip


def test_the_contract_keeps_every_promise_of_the_release() -> None:
    result = breaking(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("file", "old", "new", "complaint"),
    [
        ("broker_service.proto",
         "  rpc CancelOrder(CancelOrderRequest) returns (CancelOrderResponse);\n", "",
         'Previously present RPC "CancelOrder"'),
        ("order.proto", "string limit_price = 5;", "string limit_price = 55;",
         'Previously present field "5" with name "limit_price"'),
        ("order.proto", "string limit_price = 5;", "int64 limit_price = 5;",
         'type from "string" to "int64"'),
    ],
)  # fmt: skip
def test_a_breaking_change_fails_the_check(
    tmp_path: Path, file: str, old: str, new: str, complaint: str
) -> None:
    v1 = Path("protos", "ibkr_broker", "v1")
    shutil.copytree(ROOT / v1, tmp_path / v1, ignore=shutil.ignore_patterns("*.py*", "__py*"))
    shutil.copy(ROOT / "buf.yaml", tmp_path / "buf.yaml")
    proto = tmp_path / v1 / file
    text = proto.read_text()
    assert old in text, f"{file} no longer has {old!r}: pick another change for this test"
    proto.write_text(text.replace(old, new, 1))
    result = breaking(tmp_path)
    assert result.returncode != 0
    assert complaint in result.stdout, result.stdout + result.stderr
