"""The read tools of the MCP server (typed inputs, concise results) and their error boundary.

Every tool calls the ibkr-broker server through AsyncBrokerClient; refusals and bad input come
back as tool errors (isError results) with one clear line, never as a crash of the server.
"""

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from ..aio import AsyncBrokerClient
from ..connection import ClientConfig
from ..data_values import bar_to_dict
from ..errors import BrokerError, ContractNotFoundError
from ..message_dicts import (
    account_summary_to_dict,
    contract_details_to_dict,
    get_status_response_to_dict,
    option_chain_to_dict,
    position_to_dict,
    quote_to_dict,
)
from .guard import DEFAULT_CONFIRM_TTL, Confirmations, ToolRefusal, refusal_text
from .inputs import (
    ContractArgs,
    compact,
    order_result,
)

# --- argument types: the input schema a model sees ---------------------------------------------

Symbol = Annotated[str, Field(min_length=1, max_length=32, description="ticker, e.g. AAPL")]
SecType = Annotated[
    Literal["STK", "OPT", "FUT", "CASH", "IND", "FOP"],
    Field(description="security type: STK stock (default), OPT option, FUT future, CASH forex"),
]
Exchange = Annotated[str, Field(max_length=32, description="routing exchange (default SMART)")]
Currency = Annotated[str, Field(max_length=8, description="currency (default USD)")]
Expiry = Annotated[
    str | None, Field(pattern=r"^\d{6}(\d{2})?$", description="option/future expiry YYYYMMDD")
]
Price = Annotated[Decimal | None, Field(gt=0, description="a price, e.g. 190.25")]
Quantity = Annotated[Decimal, Field(gt=0, description="number of shares or contracts, > 0")]
Right = Annotated[Literal["C", "P"] | None, Field(description="option right: C call, P put")]
Side = Annotated[Literal["buy", "sell"], Field(description="buy or sell")]
OrderType = Annotated[
    Literal["market", "limit", "stop", "stop_limit", "trailing_stop", "trailing_stop_limit"],
    Field(description="order type; limit needs limit_price, stop needs stop_price"),
]
Tif = Literal["day", "gtc", "ioc", "fok", "opg"]
Account = Annotated[str, Field(max_length=32, description="account id; empty = the default")]
OrderId = Annotated[str, Field(min_length=1, max_length=64, description="the server's order_id")]
RequestId = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=64,
        description="idempotency key: omit on the first call (one is made and returned), pass "
        "the returned one when retrying so the order is placed at most once",
    ),
]
Duration = Annotated[
    str,
    Field(min_length=1, max_length=16, description='IB duration: "3600 S", "1 D", "1 W", "1 M"'),
]
BarSize = Annotated[
    str,
    Field(
        min_length=1, max_length=16, description='IB bar size: "1 min", "5 mins", "1 hour", "1 day"'
    ),
]
BarSource = Annotated[
    Literal[
        "trades", "midpoint", "bid", "ask", "bid_ask", "adjusted_last", "historical_volatility",
        "implied_volatility",
    ],
    Field(description="what the bars show (default trades)"),
]  # fmt: skip
EndTime = Annotated[
    datetime | None,
    Field(description="end of the last bar, ISO 8601 with a time zone; omit for now"),
]
MaxBars = Annotated[int, Field(ge=1, le=2000, description="at most this many bars, the newest")]
ConfirmationToken = Annotated[
    str | None,
    Field(max_length=64, description="--confirm mode: the token of the preview being confirmed"),
]

READ = ToolAnnotations(read_only_hint=True, open_world_hint=True)
TRADE = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=True)


@dataclass(frozen=True)
class McpOptions:
    """How `ibkr-broker mcp` behaves (from its command line)."""

    client: ClientConfig
    read_only: bool = False
    confirm: bool = False
    confirm_ttl: float = DEFAULT_CONFIRM_TTL


@contextlib.contextmanager
def tool_errors(request_id: str | None = None) -> Iterator[None]:
    """Bad input and broker refusals as ToolError (an isError result naming what is wrong)."""
    try:
        yield
    except ContractNotFoundError as exc:
        raise ToolError(f"symbol: no such contract ({exc.one_line()})") from exc
    except BrokerError as exc:
        if request_id and exc.request_id is None:
            exc.request_id = request_id
        raise ToolError(refusal_text(exc)) from exc
    except (ValueError, ToolRefusal) as exc:
        raise ToolError(f"invalid input: {exc}") from exc


class BrokerTools:
    """The tools, bound to one AsyncBrokerClient opened by the server's lifespan."""

    def __init__(self, options: McpOptions) -> None:
        self.options = options
        self.confirmations = Confirmations(options.confirm_ttl)
        self._client: AsyncBrokerClient | None = None
        self._users = 0

    @contextlib.asynccontextmanager
    async def connected(self) -> AsyncIterator[None]:
        """Open the client on the server's event loop (grpc.aio channels belong to one loop);
        shared by every MCP session (HTTP runs one per session), closed after the last one."""
        if self._client is None:
            self._client = AsyncBrokerClient(config=self.options.client)
        self._users += 1
        try:
            yield
        finally:
            self._users -= 1
            if self._users == 0 and self._client is not None:
                client, self._client = self._client, None
                await client.close()

    @property
    def client(self) -> AsyncBrokerClient:
        if self._client is None:
            raise ToolError("failed: not connected to the ibkr-broker server yet")
        return self._client

    # --- read tools -----------------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        """Connection to TWS, accounts, paper or live, whether trading is enabled, kill switch."""
        with tool_errors():
            status = await self.client.status()
            result: dict[str, Any] = compact(get_status_response_to_dict(status))
            return result

    async def resolve_contract(
        self,
        symbol: Symbol,
        sec_type: SecType = "STK",
        exchange: Exchange = "SMART",
        currency: Currency = "USD",
        expiry: Expiry = None,
        strike: Price = None,
        right: Right = None,
    ) -> dict[str, Any]:
        """Every contract matching a (partial) spec: con_id, exchange, long name, min tick."""
        with tool_errors():
            spec = ContractArgs(symbol, sec_type, exchange, currency, expiry, strike, right)
            matches = await self.client.resolve_contract(spec.to_proto())
            skip = ("trading_hours", "liquid_hours", "valid_exchanges", "order_types")
            found = [
                {k: v for k, v in contract_details_to_dict(d).items() if k not in skip}
                for d in matches
            ]
            return {"matches": compact(found)}

    async def option_chain(
        self, symbol: Symbol, sec_type: Literal["STK", "IND", "FUT"] = "STK"
    ) -> dict[str, Any]:
        """Expiries and strikes of the options on an underlying (all exchanges merged)."""
        with tool_errors():
            chain = option_chain_to_dict(
                await self.client.option_chain(ContractArgs(symbol, sec_type).to_proto())
            )
            exchanges = sorted({c["exchange"] for c in chain["chains"]})
            multipliers = sorted({c["multiplier"] for c in chain["chains"] if c["multiplier"]})
            summary = {k: chain[k] for k in ("symbol", "underlying_con_id", "expirations")}
            summary.update(strikes=chain["strikes"], exchanges=exchanges, multipliers=multipliers)
            result: dict[str, Any] = compact(summary)
            return result

    async def quote(
        self,
        symbol: Symbol,
        sec_type: SecType = "STK",
        exchange: Exchange = "SMART",
        currency: Currency = "USD",
        expiry: Expiry = None,
        strike: Price = None,
        right: Right = None,
    ) -> dict[str, Any]:
        """A snapshot quote: bid, ask, last, sizes, volume, day range (greeks for options)."""
        with tool_errors():
            spec = ContractArgs(symbol, sec_type, exchange, currency, expiry, strike, right)
            quote = await self.client.quote(spec.to_proto())
            result: dict[str, Any] = compact(quote_to_dict(quote))
            return result

    async def historical_bars(
        self,
        symbol: Symbol,
        duration: Duration = "1 D",
        bar_size: BarSize = "5 mins",
        what: BarSource = "trades",
        outside_rth: bool = False,
        end_time: EndTime = None,
        max_bars: MaxBars = 500,
        sec_type: SecType = "STK",
        exchange: Exchange = "SMART",
        currency: Currency = "USD",
        expiry: Expiry = None,
        strike: Price = None,
        right: Right = None,
    ) -> dict[str, Any]:
        """Historical OHLC bars, oldest first (time, open, high, low, close, volume, wap, count);
        the server keeps IB's historical pacing, so a refusal says when to retry."""
        with tool_errors():
            spec = ContractArgs(symbol, sec_type, exchange, currency, expiry, strike, right)
            response = await self.client.historical_bars(
                spec.to_proto(), duration, bar_size, end_time=end_time, what=what,
                outside_rth=outside_rth,
            )  # fmt: skip
            bars = [bar_to_dict(b) for b in response.bars]
            return {"bars": compact(bars[-max_bars:]), "total": len(bars)}

    async def account(self, account_id: Account = "") -> dict[str, Any]:
        """Cash, buying power, net liquidation, margin and PnL of each (or one) account."""
        with tool_errors():
            summaries = await self.client.account(account_id)
            return {"accounts": compact([account_summary_to_dict(a) for a in summaries])}

    async def positions(self, account_id: Account = "") -> dict[str, Any]:
        """Open positions with quantity, average price, market value and PnL."""
        with tool_errors():
            found = await self.client.positions(account_id)
            rows = [
                {k: v for k, v in position_to_dict(p).items() if k != "contract"} for p in found
            ]
            return {"positions": compact(rows)}

    async def list_orders(
        self,
        status: Annotated[
            Literal["all", "open", "completed"],
            Field(description="open: can still fill; completed: filled, cancelled, rejected"),
        ] = "all",
        account_id: Account = "",
    ) -> dict[str, Any]:
        """Orders, newest first, with status and fills."""
        with tool_errors():
            orders = await self.client.list_orders(status, account_id)
            return {"orders": [order_result(o) for o in orders]}

    async def get_order(
        self,
        order_id: Annotated[str, Field(max_length=64, description="the server's order_id")] = "",
        request_id: Annotated[
            str, Field(max_length=64, description="or the request_id it was placed with")
        ] = "",
    ) -> dict[str, Any]:
        """One order with its status, fills and commissions, by order_id or request_id."""
        with tool_errors():
            if not order_id and not request_id:
                raise ValueError("order_id or request_id: give one of them")
            return order_result(await self.client.get_order(order_id, request_id=request_id))
