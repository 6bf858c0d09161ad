"""IBKRAdapter: the BrokerAdapter (see broker_adapter, re-exported here) over the gRPC server.

Everything goes in and out as plain dicts, lists and strings. Money, prices and quantities
come back as `decimal.Decimal` (exact; `float(x)` if you must), unknown values as None, times
as aware UTC datetimes, statuses as lowercase names ("submitted", "filled", "cancelled").
Inputs may be int, float, Decimal or numeric strings; floats are taken at their shortest repr.

Bad input raises ValueError naming the key, before any network call. Broker failures raise
`BrokerError` subclasses (see `ibkr_broker.client.errors`).

    adapter = IBKRAdapter({"target": "127.0.0.1:50051"})
    if adapter.auth():
        order = adapter.buy_stock_limit("AAPL", 10, 190.5)
        print(order["order_id"], order["status"])
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from ibkr_broker.v1 import contract_pb2, order_pb2

from . import contracts
from .adapter_data import DataMethods
from .broker_adapter import BrokerAdapter, LegSpec, Order
from .broker_client import BrokerClient
from .connection import ClientConfig
from .errors import BrokerError, PermissionDeniedError
from .message_dicts import (
    account_summary_to_dict,
    contract_details_to_dict,
    contract_to_dict,
    get_status_response_to_dict,
    kill_switch_to_dict,
    option_chain_to_dict,
    order_events_item_to_dicts,
    order_to_dict,
    place_order_response_to_dict,
    position_to_dict,
    quote_to_dict,
    quotes_item_to_dicts,
)
from .orders import check_request_id, order_from_dict, order_spec
from .wire_values import order_status_name

log = logging.getLogger("ibkr_broker.client")


# Keys of IBKRAdapter's config dict.
CONFIG_KEYS = {
    "target",
    "token",
    "paper_trading",
    "timeout",
    "timeouts",
    "ca_cert",
    "client_cert",
    "client_key",
    "tls",
    "tls_server_name",
    "retries",
    "account",
}
_LIST_STATUSES = {"open", "completed", "all"} | {
    order_status_name(v) for v in order_pb2.OrderStatus.values() if v
}


class IBKRAdapter(DataMethods, BrokerAdapter):
    """BrokerAdapter over the ibkr-broker gRPC server (BrokerClient).

    config keys (all optional; the IBKR_BROKER_* environment fills what is missing):
      target         "host:port" of the server (default 127.0.0.1:50051)
      token          bearer token
      paper_trading  True (default): refuse to place orders when the server trades live;
                     False: refuse when it trades paper. The setting must match the server.
      timeout        default deadline of every call, seconds (default 10)
      timeouts       per-method deadlines, e.g. {"place_order": 30, "quote": 5}
      ca_cert, client_cert, client_key, tls, tls_server_name   TLS (see ClientConfig)
      retries        retries of UNAVAILABLE / RESOURCE_EXHAUSTED (default 3)
      account        the account to trade and report on when several are managed
    """

    def __init__(self, config: Mapping[str, Any] | None = None, *, client: Any = None) -> None:
        config = dict(config or {})
        unknown = set(config) - CONFIG_KEYS
        if unknown:
            raise ValueError(f"unknown IBKRAdapter config key(s): {', '.join(sorted(unknown))}")
        paper = config.get("paper_trading", True)
        if not isinstance(paper, bool):
            raise ValueError(f"paper_trading must be true or false, got {paper!r}")
        self.paper_trading = paper
        account = config.get("account", "")
        if not isinstance(account, str):
            raise ValueError(f"account must be a string, got {account!r}")
        self.account_id = account
        self._timeouts = _timeouts(config.get("timeouts"))
        if client is None:
            settings = {
                k: config.get(k)
                for k in ("target", "token", "ca_cert", "client_cert", "client_key", "timeout",
                          "tls", "tls_server_name", "retries")
            }  # fmt: skip
            client = BrokerClient(config=ClientConfig.from_env(**settings))
        self.client: BrokerClient = client
        self._mode_checked = False

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> IBKRAdapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _t(self, method: str) -> float | None:
        """The deadline configured for `method` (by its name or an old alias), else default."""
        name = _ALIASES.get(method, method)
        return self._timeouts.get(name, self._timeouts.get("default"))

    # --- connection ----------------------------------------------------------------------

    def auth(self) -> bool:
        try:
            return bool(self.status()["ready"])
        except Exception as exc:  # auth() is a probe: it answers, it does not raise
            log.info("broker not ready: %s", exc)
            return False

    def status(self) -> dict[str, Any]:
        """connection_state, ready, accounts, paper_trading, trading_enabled, ..."""
        return get_status_response_to_dict(self.client.status(timeout=self._t("status")))

    def _check_trading_mode(self) -> None:
        """Refuse to trade when the server's paper/live setting is not the configured one."""
        if self._mode_checked:
            return
        status = self.client.status(timeout=self._t("status"))
        if status.paper_trading != self.paper_trading:
            server = "paper" if status.paper_trading else "LIVE"
            wanted = "paper" if self.paper_trading else "live"
            raise PermissionDeniedError(
                f"the server trades {server} but this adapter is configured for {wanted} "
                f"trading (config paper_trading={self.paper_trading}); nothing was sent",
                reason="TRADING_MODE_MISMATCH",
            )
        self._mode_checked = True

    # --- account -------------------------------------------------------------------------

    def account(self, account_id: str | None = None) -> dict[str, Any]:
        wanted = account_id if account_id is not None else self.account_id
        summaries = self.client.account(wanted, timeout=self._t("account"))
        if not summaries:
            raise BrokerError(f"the server reported no account{f' {wanted}' if wanted else ''}")
        return account_summary_to_dict(summaries[0])

    def accounts(self) -> list[dict[str, Any]]:
        return [
            account_summary_to_dict(a)
            for a in self.client.account("", timeout=self._t("account"))
        ]

    def positions(self, account_id: str | None = None) -> list[dict[str, Any]]:
        wanted = account_id if account_id is not None else self.account_id
        positions = self.client.positions(wanted, timeout=self._t("positions"))
        return [position_to_dict(p) for p in positions]

    # --- orders --------------------------------------------------------------------------

    def place_order(self, order: Mapping[str, Any]) -> Order:
        """Place an order from a dict. Keys (aliases in brackets):

        symbol (required); quantity [qty] > 0 (required); side [action] "buy"/"sell" (required);
        type [order_type] "market" (default), "limit", "stop", "stop_limit", "trailing_stop",
        "trailing_stop_limit"; limit_price; stop_price; trailing_amount or trailing_percent;
        tif [time_in_force] "day" (default), "gtc", "ioc", "fok", "opg";
        secType [sec_type] "STK" (default), "OPT", "FUT", "CASH", "FOP";
        for options lastTradeDate [expiry, last_trade_date] YYYYMMDD, strike, right "C"/"P"/
        "CALL"/"PUT"; multiplier; exchange ("SMART"); primary_exchange; currency ("USD");
        con_id; trading_class; local_symbol; account; outside_rth; order_ref; oca_group;
        take_profit / stop_loss / stop_loss_limit (a bracket); what_if (preview only);
        request_id (idempotency key; made for you when absent).

        Returns order_id, request_id, status, filled_quantity, remaining_quantity,
        avg_fill_price, commission, symbol, side, quantity, type, prices, tif, executions, ...
        (for what_if: {"what_if": True, "status": "what_if", "preview": {...}}).
        """
        prepared = order_from_dict(order)
        if not prepared.what_if:
            self._check_trading_mode()
        if self.account_id and not prepared.spec.account:
            prepared.spec.account = self.account_id
        response = self.client.place_order(
            prepared.contract,
            prepared.spec,
            prepared.bracket,
            prepared.what_if,
            prepared.request_id,
            timeout=self._t("place_order"),
        )
        return place_order_response_to_dict(response)

    def modify_order(self, order_id: str, **changes: Any) -> Order:
        """Change quantity, limit_price, stop_price, trailing_amount, trailing_percent or tif."""
        allowed = {"quantity", "limit_price", "stop_price", "trailing_amount",
                   "trailing_percent", "tif", "request_id"}  # fmt: skip
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(
                f"{sorted(unknown)[0]} cannot be modified (allowed: {sorted(allowed)})"
            )
        order = self.client.modify_order(order_id, timeout=self._t("modify_order"), **changes)
        return order_to_dict(order)

    def cancel_order(self, order_id: str) -> Order:
        return order_to_dict(self.client.cancel_order(order_id, timeout=self._t("cancel_order")))

    def cancel_all_orders(self) -> list[str]:
        return self.client.cancel_all_orders(timeout=self._t("cancel_all_orders"))

    # --- kill switch (admin token) -------------------------------------------------------

    def halt_trading(self, reason: str = "") -> dict[str, Any]:
        """Cancel every open order at TWS and refuse new ones until resume_trading().

        Returns the kill switch (engaged, reason, engaged_by, engaged_at) and
        cancelled_order_ids, the orders that were working."""
        response = self.client.halt_trading(reason, timeout=self._t("halt_trading"))
        return {
            **kill_switch_to_dict(response.kill_switch),
            "cancelled_order_ids": list(response.cancelled_order_ids),
        }

    def resume_trading(self) -> dict[str, Any]:
        """Re-arm trading after halt_trading(); returns the kill switch (not engaged)."""
        return kill_switch_to_dict(self.client.resume_trading(timeout=self._t("resume_trading")))

    def get_order(self, order_id: str) -> Order:
        if not isinstance(order_id, str) or not order_id:
            raise ValueError(f"order_id must be a non-empty string, got {order_id!r}")
        return order_to_dict(self.client.get_order(order_id, timeout=self._t("get_order")))

    def list_orders(self, status: str | None = None) -> list[Order]:
        """All orders (newest first); status "open", "completed", or one status name."""
        wanted = status.lower() if isinstance(status, str) else status
        if wanted is not None and wanted not in _LIST_STATUSES:
            raise ValueError(f"status must be one of {sorted(_LIST_STATUSES)}, got {status!r}")
        server_filter = wanted if wanted in ("open", "completed", "all") else None
        orders = self.client.list_orders(
            server_filter, self.account_id, timeout=self._t("list_orders")
        )
        if wanted in (None, "open", "completed", "all"):
            return [order_to_dict(o) for o in orders]
        return [order_to_dict(o) for o in orders if order_status_name(o.status) == wanted]

    def order_events(self, resume_after_sequence: int = 0) -> Iterator[dict[str, Any]]:
        """Order events as dicts ({"type": "order_event", "sequence", "event", "order", ...},
        {"type": "session", ...}, {"type": "reconnected", ...}); heartbeats are skipped."""
        stream = self.client.order_events(resume_after_sequence, self.account_id)
        return _as_dicts(stream, order_events_item_to_dicts)

    # --- multi-leg -----------------------------------------------------------------------

    def create_combo_contract(
        self, symbol: str, legs: Iterable[LegSpec], currency: str = "USD"
    ) -> dict[str, Any]:
        """A combo as a dict for place_multi_leg_order: {"symbol", "sec_type": "BAG",
        "currency", "exchange", "legs"}. Each leg names its contract by spec, which the server
        resolves: {"symbol": "AAPL", "secType": "OPT", "lastTradeDate": "20260116",
        "strike": 190, "right": "C", "action": "buy", "ratio": 1}, or by con_id:
        (con_id, ratio, action, exchange) or {"con_id": 265598, "action": "sell"}."""
        built = contracts.combo(symbol, legs, currency=currency)
        result = contract_to_dict(built)
        return {key: result[key] for key in ("symbol", "sec_type", "exchange", "currency", "legs")}

    def place_multi_leg_order(
        self,
        combo: Mapping[str, Any] | contract_pb2.Contract,
        action: str,
        qty: Any,
        limit_price: Any = None,
        **options: Any,
    ) -> Order:
        """Buy or sell `qty` units of a combo; limit_price is the net price per unit (negative
        for a credit), None for a market order. options: tif, account, what_if, request_id."""
        contract = _combo_contract(combo)
        allowed = {"tif", "account", "what_if", "request_id", "outside_rth", "order_ref"}
        unknown = set(options) - allowed
        if unknown:
            raise ValueError(f"{sorted(unknown)[0]} is not an option of place_multi_leg_order")
        what_if = options.get("what_if", False)
        if not isinstance(what_if, bool):
            raise ValueError(f"what_if must be true or false, got {what_if!r}")
        request_id = options.get("request_id")
        spec = order_spec(
            action,
            qty,
            "market" if limit_price is None else "limit",
            limit_price=limit_price,
            tif=options.get("tif", "day"),
            account=options.get("account", self.account_id),
            outside_rth=options.get("outside_rth", False),
            order_ref=options.get("order_ref", ""),
            allow_negative_limit=True,
        )
        if not what_if:
            self._check_trading_mode()
        response = self.client.place_order(
            contract,
            spec,
            None,
            what_if,
            check_request_id(request_id) if request_id is not None else None,
            timeout=self._t("place_multi_leg_order"),
        )
        return place_order_response_to_dict(response)

    # --- contracts and market data -------------------------------------------------------

    def resolve_contract(
        self, symbol: str, sec_type: str = "STK", **fields: Any
    ) -> list[dict[str, Any]]:
        """Every contract matching symbol, sec_type and fields (exchange, currency,
        lastTradeDate/expiry, strike, right, ...); ContractNotFoundError when none."""
        spec = contracts.contract(symbol, sec_type, **fields)
        matches = self.client.resolve_contract(spec, timeout=self._t("resolve_contract"))
        return [contract_details_to_dict(d) for d in matches]

    def option_chain(self, symbol: str, sec_type: str = "STK") -> dict[str, Any]:
        """{"symbol", "underlying_con_id", "expirations", "strikes", "chains": [...]}."""
        underlying = contracts.contract(symbol, sec_type)
        response = self.client.option_chain(underlying, timeout=self._t("option_chain"))
        return option_chain_to_dict(response)

    def quote(self, symbol: str, sec_type: str = "STK", **fields: Any) -> dict[str, Any]:
        """bid, ask, last, bid_size, ask_size, last_size, volume, open, high, low, close, ..."""
        spec = contracts.contract(symbol, sec_type, **fields)
        return quote_to_dict(self.client.quote(spec, timeout=self._t("quote")))

    def stream_quotes(self, symbols: Iterable[str] | str) -> Iterator[dict[str, Any]]:
        """Live quotes as dicts: {"type": "quote", "symbol", "bid", "ask", ...} per update,
        {"type": "status", "symbol", "state", ...} on subscription changes and
        {"type": "reconnected", ...} after a dropped stream was re-opened. Runs until you stop
        iterating (close() the iterator, or break out of the loop)."""
        names = [symbols] if isinstance(symbols, str) else list(symbols)
        specs = [contracts.stock(s) if isinstance(s, str) else s for s in names]
        if not specs:
            raise ValueError("symbols must not be empty")
        return _as_dicts(self.client.stream_quotes(specs), quotes_item_to_dicts)

    # The adapter's first names, kept as aliases: the names above are BrokerClient's.
    get_status = status
    get_account = account
    get_accounts = accounts
    get_positions = positions
    get_option_chain = option_chain
    get_quote = quote



def _as_dicts(
    stream: Any, to_dicts: Callable[[Any], list[dict[str, Any]]]
) -> Iterator[dict[str, Any]]:
    """The stream's items as dicts; closing (or leaving) the iterator closes the stream."""
    try:
        for item in stream:
            yield from to_dicts(item)
    finally:
        stream.close()


def _combo_contract(combo: Mapping[str, Any] | contract_pb2.Contract) -> contract_pb2.Contract:
    if isinstance(combo, contract_pb2.Contract):
        if combo.security_type != contract_pb2.SECURITY_TYPE_COMBO:
            raise ValueError("combo must be a combo (BAG) contract")
        return combo
    if not isinstance(combo, Mapping):
        raise ValueError(f"combo must be a dict from create_combo_contract, got {combo!r}")
    if "symbol" not in combo or "legs" not in combo:
        raise ValueError("combo needs symbol and legs (use create_combo_contract)")
    return contracts.combo(
        combo["symbol"],
        combo["legs"],
        exchange=combo.get("exchange") or "SMART",
        currency=combo.get("currency") or "USD",
    )


def _timeouts(value: Any) -> dict[str, float]:
    if value is None:
        return {}
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = {"default": value}
    if not isinstance(value, Mapping):
        raise ValueError(f"timeouts must be a number or a dict of seconds, got {value!r}")
    known = {"default"} | {name for name in dir(IBKRAdapter) if not name.startswith("_")}
    result: dict[str, float] = {}
    for key, seconds in value.items():
        if key not in known:
            raise ValueError(f"timeouts: unknown method {key!r}")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
            raise ValueError(f"timeouts[{key!r}] must be a positive number, got {seconds!r}")
        method = _ALIASES.get(str(key), str(key))  # an old name sets the method it names
        if method in result:
            raise ValueError(f"timeouts: {key!r} and {method!r} name the same method; give one")
        result[method] = float(seconds)
    return result


# Old adapter name -> the name it aliases (get_quote -> quote, ...).
_ALIASES: dict[str, str] = {
    name: method.__name__
    for cls in (DataMethods, IBKRAdapter)
    for name, method in vars(cls).items()
    if callable(method) and getattr(method, "__name__", name) != name and not name.startswith("_")
}


__all__ = ["CONFIG_KEYS", "BrokerAdapter", "IBKRAdapter"]
