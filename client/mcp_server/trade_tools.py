"""The tools that change something: what-if, place, modify, cancel, halt.

Placement is idempotent: each takes a request_id (made and returned when omitted) that the
server uses to answer a retry with the first result. In --confirm mode place and modify first
return a what-if preview and a confirmation token; the same call with the token runs it.
"""

import uuid
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field

from ..message_dicts import kill_switch_to_dict
from .inputs import ContractArgs, ModifyArgs, OrderArgs, order_result, placed_result, preview_result
from .tools import (
    Account,
    BrokerTools,
    ConfirmationToken,
    Currency,
    Exchange,
    Expiry,
    OrderId,
    OrderType,
    Price,
    Quantity,
    RequestId,
    Right,
    SecType,
    Side,
    Symbol,
    Tif,
    tool_errors,
)

TakeProfit = Annotated[Decimal | None, Field(gt=0, description="attach a take-profit limit here")]
StopLoss = Annotated[Decimal | None, Field(gt=0, description="attach a stop-loss stop here")]
NewQuantity = Annotated[Decimal | None, Field(gt=0, description="new total quantity, > 0")]


def _new_request_id() -> str:
    return str(uuid.uuid4())


class TradeTools(BrokerTools):
    """Read tools plus the commands (exposed unless --read-only)."""

    async def what_if(
        self,
        symbol: Symbol,
        side: Side,
        quantity: Quantity,
        type: OrderType = "market",
        limit_price: Price = None,
        stop_price: Price = None,
        tif: Tif = "day",
        sec_type: SecType = "STK",
        exchange: Exchange = "SMART",
        currency: Currency = "USD",
        expiry: Expiry = None,
        strike: Price = None,
        right: Right = None,
        account: Account = "",
    ) -> dict[str, Any]:
        """Preview an order without placing it: margin change and commission."""
        contract = ContractArgs(symbol, sec_type, exchange, currency, expiry, strike, right)
        args = OrderArgs(contract, side, quantity, type, limit_price, stop_price, tif=tif,
                         account=account)  # fmt: skip
        with tool_errors():
            return await self._preview(args)

    async def _preview(self, args: OrderArgs) -> dict[str, Any]:
        contract, spec, bracket = args.to_request()
        response = await self.client.place_order(
            contract, spec, bracket, what_if=True, request_id=_new_request_id()
        )
        return {"status": "what_if", "preview": preview_result(response)}

    async def place_order(
        self,
        symbol: Symbol,
        side: Side,
        quantity: Quantity,
        type: OrderType = "market",
        limit_price: Price = None,
        stop_price: Price = None,
        trailing_amount: Price = None,
        trailing_percent: Price = None,
        tif: Tif = "day",
        sec_type: SecType = "STK",
        exchange: Exchange = "SMART",
        currency: Currency = "USD",
        expiry: Expiry = None,
        strike: Price = None,
        right: Right = None,
        account: Account = "",
        outside_rth: bool = False,
        take_profit: TakeProfit = None,
        stop_loss: StopLoss = None,
        request_id: RequestId = None,
        confirmation_token: ConfirmationToken = None,
    ) -> dict[str, Any]:
        """Place an order (paper unless the server trades live). Returns the order and the
        request_id; a retry with that request_id never places a second order. The server's
        risk limits and kill switch apply; a refusal is an error naming the limit."""
        contract = ContractArgs(symbol, sec_type, exchange, currency, expiry, strike, right)
        args = OrderArgs(
            contract, side, quantity, type, limit_price, stop_price, trailing_amount,
            trailing_percent, tif, account, outside_rth, take_profit, stop_loss,
        )  # fmt: skip
        rid = request_id or _new_request_id()
        with tool_errors(rid):
            order = args.to_request()  # validates every argument before anything is sent
            if self.options.confirm:
                if confirmation_token is None:
                    preview = await self._preview(args)
                    return self._confirmation("place_order", args.fingerprint(), rid, preview)
                confirmed = self.confirmations.redeem(
                    confirmation_token, "place_order", args.fingerprint()
                )
                rid = self._same_request_id(request_id, confirmed)
            response = await self.client.place_order(*order, request_id=rid)
            return placed_result(response, rid)

    async def modify_order(
        self,
        order_id: OrderId,
        quantity: NewQuantity = None,
        limit_price: Price = None,
        stop_price: Price = None,
        trailing_amount: Price = None,
        trailing_percent: Price = None,
        tif: Tif | None = None,
        request_id: RequestId = None,
        confirmation_token: ConfirmationToken = None,
    ) -> dict[str, Any]:
        """Change a working order; only the values given change."""
        args = ModifyArgs(order_id, quantity, limit_price, stop_price, trailing_amount,
                          trailing_percent, tif)  # fmt: skip
        rid = request_id or _new_request_id()
        with tool_errors(rid):
            changes = args.changes()
            if self.options.confirm:
                if confirmation_token is None:
                    preview = await self._modify_preview(args)
                    return self._confirmation("modify_order", args.fingerprint(), rid, preview)
                confirmed = self.confirmations.redeem(
                    confirmation_token, "modify_order", args.fingerprint()
                )
                rid = self._same_request_id(request_id, confirmed)
            order = await self.client.modify_order(order_id, request_id=rid, **changes)
            return {**order_result(order), "request_id": rid}

    async def _modify_preview(self, args: ModifyArgs) -> dict[str, Any]:
        current = await self.client.get_order(args.order_id)
        response = await self.client.place_order(
            current.contract,
            args.modified_spec(current.spec),
            what_if=True,
            request_id=_new_request_id(),
        )
        return {"current": order_result(current), "preview": preview_result(response)}

    async def cancel_order(self, order_id: OrderId, request_id: RequestId = None) -> dict[str, Any]:
        """Cancel a working order; it comes back pending_cancel, cancelled or filled."""
        rid = request_id or _new_request_id()
        with tool_errors(rid):
            order = await self.client.cancel_order(order_id, request_id=rid)
            return {**order_result(order), "request_id": rid}

    async def halt_trading(
        self,
        reason: Annotated[str, Field(max_length=200, description="why (kept in the audit log)")],
    ) -> dict[str, Any]:
        """Kill switch (admin token only): cancel every open order and refuse new ones until an
        operator resumes trading. The server refuses it for other tokens."""
        with tool_errors():
            halted = await self.client.halt_trading(reason)
            result = kill_switch_to_dict(halted.kill_switch)
            result["cancelled_order_ids"] = list(halted.cancelled_order_ids)
            out: dict[str, Any] = {"halted": True, **result}
            return out

    def _confirmation(
        self, action: str, fingerprint: str, rid: str, preview: dict[str, Any]
    ) -> dict[str, Any]:
        token = self.confirmations.issue(action, fingerprint, rid)
        return {
            **preview,
            "status": "confirmation_required",
            "confirmation_token": token,
            "request_id": rid,
            "expires_in_seconds": self.confirmations.ttl,
            "next": f"call {action} again with the same arguments and this confirmation_token",
        }

    @staticmethod
    def _same_request_id(given: str | None, confirmed: str) -> str:
        if given is not None and given != confirmed:
            raise ValueError(
                f"request_id: the confirmation_token was issued for request_id {confirmed}"
            )
        return confirmed
