"""Simulator universe lookups and the deterministic market."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ibkr_broker.simulator.market import Market, black_scholes
from ibkr_broker.simulator.model import ContractSpec
from ibkr_broker.simulator.universe import Universe, occ_local_symbol, weekly_expiries

TODAY = dt.date(2026, 11, 24)  # a Tuesday


@pytest.fixture(scope="module")
def universe() -> Universe:
    return Universe(TODAY)


def test_stocks_have_real_con_ids(universe: Universe) -> None:
    stocks = {i.symbol: i for i in universe.stocks()}
    assert len(stocks) >= 10
    assert stocks["AAPL"].con_id == 265598 and stocks["AAPL"].primary_exchange == "NASDAQ"
    assert stocks["MSFT"].con_id == 272093
    assert stocks["SPY"].con_id == 756733 and stocks["SPY"].primary_exchange == "ARCA"
    assert all(i.min_tick == Decimal("0.01") and i.long_name for i in stocks.values())


def test_resolve_stock_by_symbol_and_con_id(universe: Universe) -> None:
    [aapl] = universe.resolve(ContractSpec(symbol="AAPL", sec_type="STK", exchange="SMART",
                                           currency="USD"))
    assert aapl.con_id == 265598
    assert universe.resolve(ContractSpec(con_id=265598)) == [aapl]
    assert universe.resolve(ContractSpec(symbol="NOPE", sec_type="STK")) == []
    assert universe.resolve(ContractSpec(con_id=1)) == []
    assert universe.resolve(ContractSpec(symbol="AAPL", sec_type="STK", currency="EUR")) == []


def test_option_chain_shape(universe: Universe) -> None:
    for sym in ("AAPL", "SPY", "TSLA"):
        [params] = universe.option_params(sym)
        assert len(params.expirations) == 4
        assert len(params.strikes) == 21
        assert params.multiplier == "100" and params.trading_class == sym
        chain = universe.options_of(params.underlying_con_id)
        assert len(chain) == 4 * 21 * 2
        assert len({o.con_id for o in chain}) == len(chain)
    assert weekly_expiries(TODAY) == ("20261127", "20261204", "20261211", "20261218")


def test_partial_option_spec_returns_every_match(universe: Universe) -> None:
    calls = universe.resolve(ContractSpec(symbol="AAPL", sec_type="OPT", right="CALL",
                                          strike=Decimal("230")))
    assert len(calls) == 4 and all(o.right == "C" for o in calls)
    [one] = universe.resolve(ContractSpec(symbol="AAPL", sec_type="OPT", right="P",
                                          strike=Decimal("230"), last_trade_date="20261204",
                                          exchange="SMART", multiplier="100"))
    assert one.local_symbol == "AAPL  261204P00230000"
    assert universe.resolve(ContractSpec(local_symbol="AAPL261204P00230000",
                                         sec_type="OPT")) == [one]
    assert len(universe.resolve(ContractSpec(symbol="SPY", sec_type="OPT",
                                             last_trade_date="202612"))) == 3 * 21 * 2


def test_occ_symbol() -> None:
    assert occ_local_symbol("SPY", "20261218", "C", Decimal("590")) == "SPY   261218C00590000"
    assert occ_local_symbol("AAPL", "20261218", "P", Decimal("232.5")) == "AAPL  261218P00232500"


def test_same_seed_same_walk(universe: Universe) -> None:
    a, b, c = Market(universe, 7), Market(universe, 7), Market(universe, 8)
    seq_a, seq_b, seq_c = [], [], []
    for _ in range(50):
        for m, seq in ((a, seq_a), (b, seq_b), (c, seq_c)):
            m.step()
            q = m.quote(265598)
            seq.append((q.bid, q.ask, q.last, q.bid_size, q.volume))
    assert seq_a == seq_b
    assert seq_a != seq_c


def test_quotes_on_grid_and_bid_below_ask(universe: Universe) -> None:
    m = Market(universe, 3)
    opt = universe.options_of(756733)[40]
    for _ in range(200):
        m.step()
        for con_id in (265598, 756733, 76792991, opt.con_id):
            q = m.quote(con_id)
            assert q.bid < q.ask
            assert q.low <= q.high
            for p in (q.bid, q.ask, q.last):
                assert p % Decimal("0.01") == 0 and p >= 0
    g = m.greeks(opt.con_id)
    assert 0 < g.iv < 1 and -1 <= g.delta <= 1 and g.gamma > 0
    assert g.und_price == float(m.quote(756733).mid)


@settings(max_examples=50, deadline=None)
@given(spot=st.floats(50, 500), k=st.floats(50, 500), days=st.integers(1, 60))
def test_put_call_parity(spot: float, k: float, days: int) -> None:
    import math

    t = days / 365
    c = black_scholes(spot, k, t, 0.3, "C")
    p = black_scholes(spot, k, t, 0.3, "P")
    assert c.model_price - p.model_price == pytest.approx(spot - k * math.exp(-0.04 * t),
                                                          abs=1e-6)
    assert c.delta - p.delta == pytest.approx(1.0)


def test_history_deterministic_and_ends_at_current_price(universe: Universe) -> None:
    a, b = Market(universe, 5), Market(universe, 5)
    ha = a.history(265598, 30, 60, 1_800_000_000)
    assert ha == b.history(265598, 30, 60, 1_800_000_000)
    assert len(ha) == 30 and ha[-1].close == a.quote(265598).last
    assert all(bar.low <= min(bar.open, bar.close) and bar.high >= max(bar.open, bar.close)
               for bar in ha)
    assert [bar.time for bar in ha] == sorted(bar.time for bar in ha)
