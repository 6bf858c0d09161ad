"""BrokerAdapter: the broker interface agents program against (dicts in, dicts out).

Subclasses implement the abstract methods; the buy_/sell_ helpers are built on `place_order`
and work for every adapter. IBKRAdapter (in adapter) implements it over the gRPC server.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

Order = dict[str, Any]
#: A combo leg: a dict (a contract spec with "action" and "ratio", or "con_id" and those), or a
#: tuple (con_id or contract spec dict, ratio, action[, exchange]).
LegSpec = Mapping[str, Any] | tuple[Any, ...]


class BrokerAdapter(abc.ABC):
    """What an agent needs from a broker. Subclasses implement the abstract methods; the
    buy_/sell_ helpers are built on `place_order` and work for every adapter."""

    @abc.abstractmethod
    def auth(self) -> bool:
        """True when the broker is reachable and ready to serve; never raises."""

    @abc.abstractmethod
    def get_account(self) -> dict[str, Any]:
        """cash, buying_power, equity, currency, account_id (Decimal money values)."""

    @abc.abstractmethod
    def get_positions(self) -> list[dict[str, Any]]:
        """symbol, quantity, avg_price, market_value, unrealized_pnl, sec_type per holding."""

    @abc.abstractmethod
    def place_order(self, order: Mapping[str, Any]) -> Order:
        """Place an order dict; returns order_id, status, filled_quantity, avg_fill_price..."""

    @abc.abstractmethod
    def cancel_order(self, order_id: str) -> Order: ...

    @abc.abstractmethod
    def get_order(self, order_id: str) -> Order: ...

    @abc.abstractmethod
    def list_orders(self, status: str | None = None) -> list[Order]: ...

    @abc.abstractmethod
    def get_quote(self, symbol: str) -> dict[str, Any]: ...

    @abc.abstractmethod
    def stream_quotes(self, symbols: Iterable[str] | str) -> Iterator[dict[str, Any]]: ...

    @abc.abstractmethod
    def resolve_contract(
        self, symbol: str, sec_type: str = "STK", **fields: Any
    ) -> list[dict[str, Any]]: ...

    @abc.abstractmethod
    def get_option_chain(self, symbol: str) -> dict[str, Any]: ...

    @abc.abstractmethod
    def create_combo_contract(self, symbol: str, legs: Iterable[LegSpec]) -> dict[str, Any]:
        """A combo of legs given by contract spec dicts or by con_id (see IBKRAdapter)."""

    @abc.abstractmethod
    def place_multi_leg_order(
        self, combo: Mapping[str, Any], action: str, qty: Any, limit_price: Any = None
    ) -> Order: ...

    # --- BrokerClient's names for the getters above (IBKRAdapter implements these, and keeps
    # the get_ names as aliases; another adapter gets them from its get_ methods) ------------

    def account(self) -> dict[str, Any]:
        return self.get_account()

    def positions(self) -> list[dict[str, Any]]:
        return self.get_positions()

    def quote(self, symbol: str) -> dict[str, Any]:
        return self.get_quote(symbol)

    def option_chain(self, symbol: str) -> dict[str, Any]:
        return self.get_option_chain(symbol)

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections; the adapter is unusable afterwards."""

    # --- helpers over place_order ---------------------------------------------------------

    def buy_stock_market(self, symbol: str, qty: Any, **options: Any) -> Order:
        """Market buy of `qty` shares; options: any other order key (tif, account, ...)."""
        return self.place_order(_merge(_stock("buy", symbol, qty), options))

    def sell_stock_market(self, symbol: str, qty: Any, **options: Any) -> Order:
        return self.place_order(_merge(_stock("sell", symbol, qty), options))

    def buy_stock_limit(self, symbol: str, qty: Any, limit_price: Any, **options: Any) -> Order:
        return self.place_order(_merge(_stock("buy", symbol, qty, limit_price), options))

    def sell_stock_limit(self, symbol: str, qty: Any, limit_price: Any, **options: Any) -> Order:
        return self.place_order(_merge(_stock("sell", symbol, qty, limit_price), options))

    def buy_option_market(
        self, symbol: str, lastTradeDate: str, strike: Any, right: str, qty: Any, **options: Any
    ) -> Order:
        order = _option("buy", symbol, lastTradeDate, strike, right, qty)
        return self.place_order(_merge(order, options))

    def sell_option_market(
        self, symbol: str, lastTradeDate: str, strike: Any, right: str, qty: Any, **options: Any
    ) -> Order:
        order = _option("sell", symbol, lastTradeDate, strike, right, qty)
        return self.place_order(_merge(order, options))

    def buy_option_limit(
        self,
        symbol: str,
        lastTradeDate: str,
        strike: Any,
        right: str,
        qty: Any,
        limit_price: Any,
        **options: Any,
    ) -> Order:
        order = _option("buy", symbol, lastTradeDate, strike, right, qty, limit_price)
        return self.place_order(_merge(order, options))

    def sell_option_limit(
        self,
        symbol: str,
        lastTradeDate: str,
        strike: Any,
        right: str,
        qty: Any,
        limit_price: Any,
        **options: Any,
    ) -> Order:
        order = _option("sell", symbol, lastTradeDate, strike, right, qty, limit_price)
        return self.place_order(_merge(order, options))


def _stock(side: str, symbol: str, qty: Any, *limit_price: Any) -> dict[str, Any]:
    """A stock order dict; a limit order when a limit price (even None, refused later) is given."""
    order: dict[str, Any] = {"symbol": symbol, "quantity": qty, "side": side, "type": "market"}
    if limit_price:
        order.update(type="limit", limit_price=limit_price[0])
    return order


def _option(
    side: str, symbol: str, last_trade_date: str, strike: Any, right: str, qty: Any, *limit: Any
) -> dict[str, Any]:
    order = _stock(side, symbol, qty, *limit)
    order.update(secType="OPT", lastTradeDate=last_trade_date, strike=strike, right=right)
    return order


def _merge(order: dict[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """The helper's order plus extra keys (tif, account, request_id, ...), never overriding it."""
    clash = sorted(set(order) & set(options))
    if clash:
        raise ValueError(f"{clash[0]} is set by the helper's arguments; use place_order instead")
    return {**order, **options}
