"""Interop: a Node.js client (@grpc/grpc-js + @grpc/proto-loader, only the .proto files) trades
against the real server and simulator."""

from __future__ import annotations

import asyncio
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from tests.integration.server_env import ServerEnv

HERE = Path(__file__).resolve().parent
pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("tws_era")]


async def test_node_client_trades_from_the_protos_alone(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "Node.js is required for the interop test (make test installs it)"
    assert (HERE / "node_modules" / "@grpc" / "grpc-js").is_dir(), "run `make test` (npm install)"
    async with ServerEnv(tmp_path) as env:
        assert env.app is not None
        proc = await asyncio.create_subprocess_exec(
            node,
            str(HERE / "client.mjs"),
            f"127.0.0.1:{env.app.port}",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        result = json.loads(out.decode().strip().splitlines()[-1])
        assert result["connectionState"] == "CONNECTION_STATE_READY"
        assert result["conId"] == "265598"
        assert result["orderStatus"] in ("ORDER_STATUS_SUBMITTED", "ORDER_STATUS_FILLED")
        assert result["badField"].startswith("INVALID_ARGUMENT: order.quantity")
        assert Decimal(result["quoteBid"]) > 0
        node_orders = [o for o in env.sim_orders() if o.request.order_ref.startswith("ikb:node-")]
        assert len(node_orders) == 1 and node_orders[0].request.total_quantity == 3
