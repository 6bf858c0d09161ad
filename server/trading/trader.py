"""Placing, modifying and cancelling orders: idempotent by request_id, never reusing an id.

A request_id is claimed before anything is sent: a retry with the same key (also while the
first call is still running, also after a server restart) returns the first order and never
sends a second one. The key travels in IB's orderRef so orders can be matched after a
reconnect.

Before a request_id is claimed, an order passes the kill switch (`killswitch`) and the
pre-trade risk limits (`risk_gate`): a refusal consumes nothing, so a retry re-runs the checks.

One way down: the trader calls the session (`wait_turn` then `place_order`, `cancel_order`,
`cancel_all_orders`); the session never calls back. The kill switch is checked when a call
starts (a halted server does no work) and after every pacing wait, right before an order leaves
(`_turn`): a halt engaged while the checks or the pacing awaited stops what has not left yet.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

from ..domain import errors
from ..domain.model import (
    BracketSpec,
    ComboLeg,
    Contract,
    ContractDetails,
    IbError,
    Order,
    OrderPreview,
    OrderSpec,
    OrderStatus,
)
from ..session.broker_session import BrokerSession
from ..session.ib_port import IbOrderRequest
from ..session.orders import ORDER_REF_PREFIX
from ..session.shared import TtlCache
from .contract_rules import check_increments, check_order_type, spec_prices
from .killswitch import KillSwitch, KillSwitchState
from .limits import Caller, RiskLimits
from .order_terms import (
    Modification,
    apply_modification,
    bracket_children,
    describe,
    fingerprint,
    reduces_only,
)
from .risk_gate import RiskGate

RESOLVED_LIFETIME = 6 * 3600.0  # seconds a resolved contract is reused (a trading day's part)
MAX_RESOLVED = 10_000  # resolved contracts kept, the least recently used dropped first


@dataclasses.dataclass(frozen=True)
class Placed:
    order: Order | None
    bracket_orders: tuple[Order, ...] = ()
    preview: OrderPreview | None = None


@dataclasses.dataclass(frozen=True)
class Halted:
    kill_switch: KillSwitchState
    cancelled_order_ids: tuple[str, ...]


class Trader:
    def __init__(self, session: BrokerSession, limits: RiskLimits | None = None) -> None:
        """`limits`: the server's pre-trade limits (the [risk] section); none by default."""
        self.session = session
        # request_id -> (method, fingerprint, outcome) of the calls running now
        self._inflight: dict[str, tuple[str, str, asyncio.Future[Any]]] = {}
        # Contracts as TWS resolved them and their details (increments, tick), kept a while.
        self._resolved: TtlCache[Contract, Contract] = TtlCache(RESOLVED_LIFETIME, MAX_RESOLVED)
        self._details: TtlCache[int, ContractDetails] = TtlCache(RESOLVED_LIFETIME, MAX_RESOLVED)
        self.kill_switch = KillSwitch(session)
        self.risk = RiskGate(session, self.resolve_one, limits or RiskLimits())

    # --- idempotency ----------------------------------------------------------------------------

    async def _once(
        self, request_id: str, method: str, print_: str, run: Any, replay: Any = None
    ) -> Any:
        """Run `run()` once per request_id; a retry gets the first outcome (`replay(result)`
        rebuilds it from the stored result; by default the orders it names). A key used for
        another method or content is ALREADY_EXISTS, while that first call runs or after."""
        running = self._inflight.get(request_id)
        if running is not None:
            r_method, r_print, fut = running
            _same_request(request_id, (r_method, r_print), (method, print_))
            return await asyncio.shield(fut)
        known = self.session.store.find_request(request_id)
        if known is not None:
            k_method, k_print, result = known
            _same_request(request_id, (k_method, k_print), (method, print_))
            return (replay or self._replay)(result)
        fut = asyncio.get_running_loop().create_future()
        self._inflight[request_id] = (method, print_, fut)
        try:
            value = await run()
            fut.set_result(value)
            return value
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # retrieved: a concurrent retry re-raises it
            raise
        finally:
            del self._inflight[request_id]

    def _claim(self, request_id: str, method: str, print_: str, result: str) -> None:
        self.session.store.save_request(request_id, method, print_, result)

    def _replay(self, result: str) -> Any:
        ids = result.split(",") if result else []
        orders = [self.session.orders.get(i) for i in ids]
        found = [o for o in orders if o is not None]
        if not found:
            raise errors.OrderNotFound(f"orders {result} of this request are unknown")
        first = found[0]
        if first.status is OrderStatus.REJECTED and first.last_error:
            raise errors.OrderRejected(first.last_error.message, ib_code=first.last_error.code)
        return Placed(first, tuple(found[1:]))

    # --- contracts ------------------------------------------------------------------------------

    async def resolve_one(self, contract: Contract) -> Contract:
        """The unique contract a spec names (con_id set); combos get every leg resolved."""
        if contract.is_combo:
            return await self._resolve_combo(contract)
        cached = self._resolved.get(contract)
        if cached is not None and self._details.get(cached.con_id) is not None:
            return cached
        # Shared, and cached before the shared call ends: a caller arriving as it ends finds it.
        resolved: Contract = await self.session.queries.shared.run(
            ("resolve", contract), lambda: self._resolve_uncached(contract)
        )
        return resolved

    async def _resolve_uncached(self, contract: Contract) -> Contract:
        matches = await self.session.queries.contract_details(contract)
        if not matches:
            raise errors.ContractNotFound(f"no contract matches {describe(contract)}")
        if len(matches) > 1:
            raise errors.AmbiguousContract(
                f"{len(matches)} contracts match {describe(contract)}; give con_id or more fields"
            )
        resolved = matches[0].contract
        self._resolved.put(contract, resolved)
        self._details.put(resolved.con_id, matches[0])
        return resolved

    async def _resolve_combo(self, combo: Contract) -> Contract:
        legs = []
        for i, leg in enumerate(combo.combo_legs):
            con_id = leg.con_id
            if not con_id and leg.contract is not None:
                try:
                    con_id = (await self.resolve_one(leg.contract)).con_id
                except errors.BrokerError as exc:
                    raise errors.InvalidArgument(
                        f"contract.combo_legs[{i}].contract", exc.message
                    ) from None
            legs.append(ComboLeg(leg.ratio, leg.action, con_id, None, leg.exchange or "SMART"))
        return dataclasses.replace(
            combo,
            exchange=combo.exchange or "SMART",
            currency=combo.currency or "USD",
            combo_legs=tuple(legs),
        )

    def _account(self, spec: OrderSpec) -> str:
        accounts = self.session.accounts
        if spec.account:
            if spec.account not in accounts:
                raise errors.InvalidArgument("order.account", f"{spec.account} is not managed")
            return spec.account
        if len(accounts) != 1:
            raise errors.InvalidArgument(
                "order.account", f"required: several accounts are managed ({','.join(accounts)})"
            )
        return accounts[0]

    # --- place ----------------------------------------------------------------------------------

    async def place(
        self,
        request_id: str,
        contract: Contract,
        spec: OrderSpec,
        bracket: BracketSpec | None = None,
        what_if: bool = False,
        caller: Caller | None = None,
    ) -> Placed:
        """Place an order; `caller` (the token) selects its risk limits. A what-if preview
        trades nothing and passes neither the kill switch nor the limits."""
        print_ = fingerprint(contract, spec, bracket, what_if)

        async def run() -> Placed:
            if not what_if:
                self.kill_switch.require_armed()
            self.session.require_trading()
            account = self._account(spec)
            resolved = await self.resolve_one(contract)
            if not resolved.is_combo:
                details = self._details.get(resolved.con_id)
                check_order_type(details, spec.order_type)
                check_increments(details, "order.", spec.quantity, spec_prices(spec))
                if bracket:
                    check_increments(details, "bracket.", None, dataclasses.asdict(bracket))
            if what_if:
                return Placed(None, preview=await self._what_if(resolved, spec, account))
            limits = await self.risk.check_place(caller, resolved, spec, account)
            children = bracket_children(spec, bracket, f"ikb-oca:{request_id}") if bracket else []
            await self._turn(armed=True)  # the parent's turn; no await from here to its send
            self.risk.check_counts(limits, 1 + len(children))
            self.risk.placed(caller)
            return await self._place(request_id, print_, resolved, spec, account, children)

        result: Placed = await self._once(request_id, "PlaceOrder", print_, run)
        return result

    async def _what_if(self, contract: Contract, spec: OrderSpec, account: str) -> OrderPreview:
        ib_id = self.session.allocate_ib_order_id()
        fut = self.session.orders.expect_preview(ib_id)
        request = IbOrderRequest(dataclasses.replace(spec, account=account), what_if=True)
        await self._turn(armed=False)  # a preview trades nothing: also while halted
        self.session.place_order(ib_id, contract, request)
        preview: OrderPreview = await self._await(fut, "what-if order")
        return preview

    async def _place(
        self,
        request_id: str,
        print_: str,
        contract: Contract,
        spec: OrderSpec,
        account: str,
        children: list[OrderSpec],
    ) -> Placed:
        """Claim the request_id, book the orders and send them (the parent's turn is taken)."""
        now = datetime.now(UTC)
        book = self.session.orders
        with self.session.store.transaction():  # ids, key and orders durable in one commit
            parent = self._new_order(request_id, contract, spec, account, now)
            kids = [
                dataclasses.replace(
                    self._new_order(f"{request_id}#{i + 1}", contract, child, account, now),
                    parent_order_id=parent.order_id,
                )
                for i, child in enumerate(children)
            ]
            all_orders = [parent, *kids]
            self._claim(request_id, "PlaceOrder", print_, ",".join(o.order_id for o in all_orders))
            for order in all_orders:
                book.add(order)
        acks = [book.expect_ack(order.ib_order_id) for order in all_orders]
        connection = self.session.connection_number  # in the parent's turn: no await since
        for i, order in enumerate(all_orders):
            request = IbOrderRequest(
                order.spec,
                ORDER_REF_PREFIX + order.request_id,
                parent_ib_order_id=0 if order is parent else parent.ib_order_id,
                transmit=i == len(all_orders) - 1,  # the last one sends the group
            )
            try:
                if i > 0:
                    await self._turn(armed=True)
                    if self.session.connection_number != connection:
                        raise errors.Unavailable("the connection to TWS dropped mid-bracket")
                elif self.session.before_send:
                    await self._made_durable(connection)
                self.session.place_order(order.ib_order_id, contract, request)
            except (errors.TradingHalted, errors.Unavailable) as exc:
                # Not sent: said now (a retry of the key gets it), not after a reconciliation.
                for ack in acks:
                    ack.cancel()
                for unsent in all_orders[i:]:
                    book.reject(unsent, IbError(0, f"not placed: {exc.message}"))
                raise
        results = [await self._await(fut, "order acknowledgement") for fut in acks]
        return Placed(results[0], tuple(results[1:]))

    async def _made_durable(self, connection: int) -> None:
        """The before_send hooks (the bus replicating the claim), then the checks again."""
        try:
            for hook in self.session.before_send:
                await hook()
        except Exception as exc:
            raise errors.Unavailable(f"the order could not be made durable: {exc}") from None
        self.kill_switch.require_armed()
        if self.session.connection_number != connection:
            raise errors.Unavailable("the connection to TWS dropped before the order was sent")

    def _new_order(
        self, request_id: str, contract: Contract, spec: OrderSpec, account: str, now: datetime
    ) -> Order:
        return Order(
            order_id=self.session.store.new_order_id(request_id),
            request_id=request_id,
            contract=contract,
            spec=dataclasses.replace(spec, account=account),
            account=account,
            status=OrderStatus.PENDING_SUBMIT,
            create_time=now,
            update_time=now,
            ib_order_id=self.session.allocate_ib_order_id(),
        )

    async def _turn(self, armed: bool) -> None:
        """Wait for the pacing turn of one order; then, when `armed`, refuse it if the kill
        switch engaged meanwhile. The caller sends the order with no await in between."""
        await self.session.wait_turn()
        if armed:
            self.kill_switch.require_armed()

    async def _await(self, fut: asyncio.Future[Any], what: str) -> Any:
        try:
            async with asyncio.timeout(self.session.config.order_timeout):
                return await asyncio.shield(fut)
        except TimeoutError:
            raise errors.DeadlineExceeded(
                f"TWS did not answer the {what} within {self.session.config.order_timeout}s; "
                "retry with the same request_id to get its state"
            ) from None

    # --- modify and cancel ----------------------------------------------------------------------

    def _open_order(self, order_id: str) -> Order:
        order = self.session.orders.get(order_id)
        if order is None:
            raise errors.OrderNotFound(f"no order {order_id!r}")
        if order.status.is_terminal:
            raise errors.OrderRejected(
                f"order {order_id} is {order.status.value} and can no longer change"
            )
        return order

    async def modify(
        self, request_id: str, order_id: str, change: Modification, caller: Caller | None = None
    ) -> Order:
        """Change a working order. While halted only a smaller quantity is accepted; a higher
        quantity or price passes the risk limits again."""
        print_ = fingerprint(order_id, change)

        async def run() -> Placed:
            self.session.require_trading()
            order = self._open_order(order_id)
            spec = apply_modification(order.spec, change)
            if not order.contract.is_combo:
                await self.resolve_one(order.contract)  # its details, also after a restart
                details = self._details.get(order.contract.con_id)
                check_increments(details, "", spec.quantity, spec_prices(spec))
                order = self._open_order(order_id)  # it may have ended meanwhile
            reducing = reduces_only(order.spec, spec)
            if not reducing:
                self.kill_switch.require_armed()
                await self.risk.check_modify(caller, order, spec)
            await self._turn(armed=not reducing)  # no await from here to the send
            order = self._open_order(order_id)  # it may have ended meanwhile
            self._claim(request_id, "ModifyOrder", print_, order.order_id)
            fut = self.session.orders.expect_ack(order.ib_order_id)
            request = IbOrderRequest(
                dataclasses.replace(spec, account=order.account),
                ORDER_REF_PREFIX + order.request_id,
            )
            self.session.place_order(order.ib_order_id, order.contract, request)
            acked: Order = await self._await(fut, "modification")
            current = self.session.orders.get(order_id) or acked
            updated = dataclasses.replace(current, spec=spec)
            self.session.orders.replace(updated)
            return Placed(updated)

        placed: Placed = await self._once(request_id, "ModifyOrder", print_, run)
        assert placed.order is not None
        return self.session.orders.get(placed.order.order_id) or placed.order

    async def cancel(self, request_id: str, order_id: str) -> Order:
        print_ = fingerprint(order_id)

        async def run() -> Placed:
            self.session.require_ready()
            order = self.session.orders.get(order_id)
            if order is None:
                raise errors.OrderNotFound(f"no order {order_id!r}")
            if order.status.is_terminal:  # refused before the request id is used
                status = order.status.name.lower()
                raise errors.OrderNotCancellable(
                    f"order {order.order_id} is {status}: it cannot be cancelled",
                    metadata={"order_id": order.order_id, "status": status},
                )
            self._claim(request_id, "CancelOrder", print_, order.order_id)
            fut = self.session.orders.expect_ack(order.ib_order_id, until=_cancel_answered)
            await self.session.cancel_order(order.ib_order_id)
            return Placed(await self._await(fut, "cancel"))

        placed: Placed = await self._once(request_id, "CancelOrder", print_, run)
        assert placed.order is not None
        return self.session.orders.get(placed.order.order_id) or placed.order

    async def cancel_all(self, request_id: str) -> list[str]:
        async def run() -> list[str]:
            self.session.require_ready()
            open_ids = [o.order_id for o in self.session.orders.open_orders()]
            await self.session.cancel_all_orders()
            self._claim(request_id, "CancelAllOrders", "", ",".join(open_ids))
            return open_ids

        def replay(result: str) -> list[str]:
            return [i for i in result.split(",") if i]

        ids: list[str] = await self._once(request_id, "CancelAllOrders", "", run, replay)
        return list(ids)

    # --- kill switch ------------------------------------------------------------------------

    async def halt(self, request_id: str, reason: str, engaged_by: str) -> Halted:
        """Engage the kill switch, then cancel every open order at TWS (reqGlobalCancel)."""
        print_ = fingerprint("HaltTrading", reason)

        async def run() -> Halted:
            ids = await self.kill_switch.engage(reason, engaged_by)
            halted = Halted(self.kill_switch.state, tuple(ids))
            first = {"kill_switch": halted.kill_switch.to_json(), "order_ids": ids}
            self._claim(request_id, "HaltTrading", print_, json.dumps(first))
            return halted

        def replay(result: str) -> Halted:
            first = json.loads(result)
            state = KillSwitchState.from_json(first["kill_switch"])
            return Halted(state, tuple(first["order_ids"]))

        halted: Halted = await self._once(request_id, "HaltTrading", print_, run, replay)
        return halted

    async def resume(self, request_id: str) -> KillSwitchState:
        """Release the kill switch: orders are accepted again."""

        async def run() -> KillSwitchState:
            self.kill_switch.release()
            self._claim(request_id, "ResumeTrading", "", self.kill_switch.state.to_json())
            return self.kill_switch.state

        state: KillSwitchState = await self._once(
            request_id, "ResumeTrading", "", run, KillSwitchState.from_json
        )
        return state


def _cancel_answered(order: Order) -> bool:
    """TWS answered a cancel (not a late status of the order replayed by a reconnect)."""
    return order.status is OrderStatus.PENDING_CANCEL or order.status.is_terminal


def _same_request(request_id: str, first: tuple[str, str], again: tuple[str, str]) -> None:
    """Conflict (ALREADY_EXISTS) unless `again` is the same (method, content) as `first`."""
    if first == again:
        return
    what = "a different request" if first[0] == again[0] else f"a {first[0]} request"
    raise errors.Conflict(f"request_id {request_id!r} was already used for {what}")
