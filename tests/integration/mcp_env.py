"""`ibkr-broker mcp` as a subprocess, driven by the MCP SDK's own client (stdio or HTTP):

async with ServerEnv(tmp_path, sections=...) as env:
    async with mcp_stdio(env.target, tmp_path, "--token", token) as client:
        result = await client.call_tool("status", {})
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult

START_TIMEOUT = 30.0
SERVING = re.compile(r"serving MCP on (http://\S+)")


def mcp_command(target: str, *args: str) -> list[str]:
    return ["-m", "ibkr_broker", "mcp", "--server", target, "--timeout", "10", *args]


def _env() -> dict[str, str]:
    """The child's environment: no IBKR_BROKER_* settings of the developer leak in."""
    return {k: v for k, v in os.environ.items() if not k.startswith("IBKR_BROKER_")}


@contextlib.asynccontextmanager
async def mcp_stdio(target: str, log_dir: Path, *args: str) -> AsyncIterator[Client]:
    params = StdioServerParameters(
        command=sys.executable, args=mcp_command(target, *args), env=_env()
    )
    log = log_dir / "mcp-stdio.log"
    with log.open("w") as errlog:  # the child's stderr (a real file: it needs a descriptor)
        async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=30) as client:
            yield client


@contextlib.asynccontextmanager
async def mcp_http(target: str, *args: str) -> AsyncIterator[tuple[Client, str]]:
    """The server on 127.0.0.1:0 over streamable HTTP; yields the client and its URL."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *mcp_command(target, "--listen", "127.0.0.1:0", *args),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=_env(),
    )
    try:
        url = await asyncio.wait_for(_serving_url(process), START_TIMEOUT)
        async with Client(url, read_timeout_seconds=30) as client:
            yield client, url
    finally:
        if process.returncode is None:
            process.terminate()
        await asyncio.wait_for(process.wait(), 15)


async def _serving_url(process: asyncio.subprocess.Process) -> str:
    assert process.stderr is not None
    seen = []
    while line := (await process.stderr.readline()).decode():
        seen.append(line)
        match = SERVING.search(line)
        if match:
            return match.group(1)
    raise AssertionError(f"ibkr-broker mcp exited before serving: {''.join(seen)}")


def ok(result: CallToolResult) -> dict[str, Any]:
    """The structured result of a successful tool call."""
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None, text_of(result)
    return dict(result.structured_content)


def error_text(result: CallToolResult) -> str:
    """The one message of a tool error."""
    assert result.is_error, f"expected a tool error, got {result.structured_content}"
    return text_of(result)


def text_of(result: CallToolResult) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


def resource_json(contents: Any) -> Any:
    [item] = contents.contents
    return json.loads(item.text)
