"""Builds the MCP server: the tools (read tools only with --read-only) and two resources."""

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import CallToolResult, InputRequiredResult
from pydantic import ValidationError

from .tools import READ, TRADE, McpOptions
from .trade_tools import TradeTools

READ_TOOLS = (
    "status",
    "resolve_contract",
    "option_chain",
    "quote",
    "historical_bars",
    "account",
    "positions",
    "list_orders",
    "get_order",
    "what_if",
)
TRADE_TOOLS = ("place_order", "modify_order", "cancel_order", "halt_trading")

INSTRUCTIONS = """\
Trading tools of an ibkr-broker server (Interactive Brokers, paper trading unless the server is
configured for live). Every call passes the server's authentication, roles, pre-trade risk
limits, kill switch and audit log. Quantities and prices are exact decimals (send strings such
as "190.25"). place_order returns a request_id: when a call fails or times out, retry with the
same request_id and the order is placed at most once. A tool error explains what to fix."""


class BrokerMCPServer(MCPServer[Any]):
    """MCPServer whose tool errors are one short line: `invalid input: quantity: ...` for
    arguments that fail the input schema, the tool's own message otherwise."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ValidationError):
                raise ToolError(f"invalid input: {invalid_arguments(cause)}") from cause
            if type(cause) is ToolError:  # raised by the tool itself: drop the SDK's prefix
                raise ToolError(str(cause)) from cause
            raise


def invalid_arguments(error: ValidationError) -> str:
    """`quantity: Input should be greater than 0; symbol: Field required` (one per argument)."""
    by_argument: dict[str, str] = {}
    for item in error.errors(include_url=False, include_input=False):
        argument = str(item["loc"][0]) if item["loc"] else "arguments"
        by_argument.setdefault(argument, item["msg"])
    return "; ".join(f"{argument}: {message}" for argument, message in by_argument.items())


def build_server(options: McpOptions) -> MCPServer[Any]:
    tools = TradeTools(options)

    @contextlib.asynccontextmanager
    async def lifespan(_: MCPServer[Any]) -> AsyncIterator[None]:
        async with tools.connected():
            yield None

    server = BrokerMCPServer("ibkr-broker", instructions=_instructions(options), lifespan=lifespan)
    names = READ_TOOLS if options.read_only else READ_TOOLS + TRADE_TOOLS
    for name in names:
        server.add_tool(
            getattr(tools, name), name=name, annotations=READ if name in READ_TOOLS else TRADE
        )
    _add_resources(server, tools)
    return server


def _instructions(options: McpOptions) -> str:
    text = INSTRUCTIONS
    if options.read_only:
        text += "\nRead-only: this server exposes no tool that places, changes or cancels orders."
    if options.confirm:
        text += (
            "\nConfirm mode: place_order and modify_order first return a what-if preview and a "
            f"confirmation_token; call again with the same arguments and the token within "
            f"{options.confirm_ttl:g} s to execute."
        )
    return text


def _add_resources(server: MCPServer[Any], tools: TradeTools) -> None:
    @server.resource(
        "ibkr://account",
        name="account",
        description="Account summary of every managed account (JSON)",
        mime_type="application/json",
    )
    async def account_resource() -> str:
        return await _as_json(tools.account())

    @server.resource(
        "ibkr://positions",
        name="positions",
        description="Open positions with market value and PnL (JSON)",
        mime_type="application/json",
    )
    async def positions_resource() -> str:
        return await _as_json(tools.positions())


async def _as_json(result: Any) -> str:
    try:
        return json.dumps(await result, sort_keys=True)
    except ToolError as exc:
        raise ResourceError(str(exc)) from exc
