"""Proto <-> domain converters of the API boundary, and the field checks on the way in."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ibkr_broker.server.api import proto_convert as cv
from ibkr_broker.server.api.errors import to_status
from ibkr_broker.server.domain import errors
from ibkr_broker.v1 import common_pb2, contract_pb2, order_pb2

prices = st.decimals(
    min_value=Decimal("0.0001"),
    max_value=Decimal(10**6),
    places=4,
    allow_nan=False,
    allow_infinity=False,
)


def dec(d: Decimal) -> str:
    """The normalised decimal string the server keeps (no trailing zeros, no exponent)."""
    return format(d.normalize(), "f")


@given(
    symbol=st.sampled_from(["AAPL", "SPY", "BRK B"]),
    strike=prices,
    right=st.sampled_from([contract_pb2.OPTION_RIGHT_CALL, contract_pb2.OPTION_RIGHT_PUT]),
    con_id=st.integers(0, 2**31 - 1),
    date=st.sampled_from(["20261218", "202612", ""]),
)
def test_contract_round_trip(
    symbol: str, strike: Decimal, right: int, con_id: int, date: str
) -> None:
    msg = contract_pb2.Contract(
        con_id=con_id,
        security_type=contract_pb2.SECURITY_TYPE_OPTION,
        symbol=symbol,
        exchange="SMART",
        currency="USD",
        multiplier="100",
        last_trade_date=date,
        strike=dec(strike),
        right=right,
    )
    back = cv.contract_to_proto(cv.contract_from_proto(msg))
    assert back == msg
    assert Decimal(back.strike) == strike


@given(
    qty=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(10**6), places=4),
    limit=prices,
    action=st.sampled_from([common_pb2.ORDER_ACTION_BUY, common_pb2.ORDER_ACTION_SELL]),
    tif=st.sampled_from([1, 2, 3, 4, 5]),
)
def test_order_spec_round_trip(qty: Decimal, limit: Decimal, action: int, tif: int) -> None:
    msg = order_pb2.OrderSpec(
        action=action,
        quantity=dec(qty),
        order_type=order_pb2.ORDER_TYPE_LIMIT,
        limit_price=dec(limit),
        time_in_force=tif,
        account="DU1",
    )
    spec = cv.spec_from_proto(msg, combo=False)
    assert spec.quantity == qty and spec.limit_price == limit
    assert cv.spec_to_proto(spec) == msg


def order(**kw: object) -> order_pb2.OrderSpec:
    base: dict[str, object] = dict(
        action=common_pb2.ORDER_ACTION_BUY, quantity="10", order_type=order_pb2.ORDER_TYPE_MARKET
    )
    base.update(kw)
    return order_pb2.OrderSpec(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (order(quantity="0"), "order.quantity"),
        (order(quantity="-5"), "order.quantity"),
        (order(quantity="NaN"), "order.quantity"),
        (order(quantity="1e999999"), "order.quantity"),
        (order(quantity="ten"), "order.quantity"),
        (order(quantity=""), "order.quantity"),
        (order(action=0), "order.action"),
        (order(action=99), "order.action"),
        (order(order_type=0), "order.order_type"),
        (order(order_type=42), "order.order_type"),
        (order(order_type=order_pb2.ORDER_TYPE_LIMIT), "order.limit_price"),
        (order(order_type=order_pb2.ORDER_TYPE_STOP), "order.stop_price"),
        (order(order_type=order_pb2.ORDER_TYPE_TRAILING_STOP), "order.trailing_amount"),
        (order(limit_price="5"), "order.limit_price"),
        (order(order_type=order_pb2.ORDER_TYPE_LIMIT, limit_price="-1"), "order.limit_price"),
        (order(order_type=order_pb2.ORDER_TYPE_LIMIT, limit_price="Infinity"), "order.limit_price"),
        (order(time_in_force=77), "order.time_in_force"),
        (order(order_ref="x" * 1000), "order.order_ref"),
    ],
)
def test_bad_order_fields_are_named(spec: order_pb2.OrderSpec, field: str) -> None:
    with pytest.raises(errors.InvalidArgument) as exc:
        cv.spec_from_proto(spec, combo=False)
    assert exc.value.field == field


def test_combo_limit_may_be_a_credit() -> None:
    spec = cv.spec_from_proto(
        order(order_type=order_pb2.ORDER_TYPE_LIMIT, limit_price="-1.25"), combo=True
    )
    assert spec.limit_price == Decimal("-1.25")


@pytest.mark.parametrize(
    ("contract", "field"),
    [
        (contract_pb2.Contract(symbol="AAPL"), "contract.security_type"),
        (contract_pb2.Contract(security_type=1), "contract.symbol"),
        (contract_pb2.Contract(security_type=99, symbol="A"), "contract.security_type"),
        (
            contract_pb2.Contract(security_type=contract_pb2.SECURITY_TYPE_COMBO, symbol="A"),
            "contract.combo_legs",
        ),
        (
            contract_pb2.Contract(
                security_type=contract_pb2.SECURITY_TYPE_COMBO,
                symbol="A",
                combo_legs=[
                    contract_pb2.ComboLeg(con_id=1, ratio=1, action=1),
                    contract_pb2.ComboLeg(con_id=2, ratio=0, action=2),
                ],
            ),
            "contract.combo_legs[1].ratio",
        ),
        (
            contract_pb2.Contract(
                security_type=contract_pb2.SECURITY_TYPE_COMBO,
                symbol="A",
                combo_legs=[
                    contract_pb2.ComboLeg(con_id=1, ratio=1, action=1),
                    contract_pb2.ComboLeg(ratio=1, action=2),
                ],
            ),
            "contract.combo_legs[1].con_id",
        ),
        (contract_pb2.Contract(security_type=1, symbol="A", strike="abc"), "contract.strike"),
        (
            contract_pb2.Contract(security_type=1, symbol="A", last_trade_date="Dec 18"),
            "contract.last_trade_date",
        ),
        (contract_pb2.Contract(con_id=-4), "contract.con_id"),
        (contract_pb2.Contract(security_type=1, symbol="A\x00B"), "contract.symbol"),
    ],
)
def test_bad_contract_fields_are_named(contract: contract_pb2.Contract, field: str) -> None:
    with pytest.raises(errors.InvalidArgument) as exc:
        cv.contract_from_proto(contract)
    assert exc.value.field == field


def test_error_status_carries_reason_code_and_field() -> None:
    from google.rpc import error_details_pb2, status_pb2

    status = to_status(errors.OrderRejected("no", ib_code=201))
    assert status.code.name == "FAILED_PRECONDITION"
    detail = next(d[1] for d in status.trailing_metadata if d[0] == "grpc-status-details-bin")
    parsed = status_pb2.Status.FromString(detail)
    info = error_details_pb2.ErrorInfo()
    parsed.details[0].Unpack(info)
    assert info.reason == "ORDER_REJECTED" and info.metadata["ib_code"] == "201"
    bad = to_status(errors.InvalidArgument("order.quantity", "must be positive"))
    assert bad.code.name == "INVALID_ARGUMENT"
    assert to_status(errors.Unavailable("down")).code.name == "UNAVAILABLE"


@pytest.mark.parametrize("con_id", [-1, 2**31, 2**63 - 1])
def test_a_con_id_beyond_ibs_32_bits_is_refused_naming_the_field(con_id: int) -> None:
    """Found by the fuzz campaign: the protobuf-era encoder raised on a con_id over 2^31 - 1."""
    with pytest.raises(errors.InvalidArgument, match=r"contract\.con_id"):
        cv.contract_from_proto(contract_pb2.Contract(con_id=con_id))
    leg = contract_pb2.ComboLeg(con_id=con_id, ratio=1, action=common_pb2.ORDER_ACTION_BUY)
    with pytest.raises(errors.InvalidArgument, match=r"legs\[0\]\.con_id"):
        cv.leg_from_proto(leg, "contract.combo_legs[0]")


def test_the_largest_ib_con_id_is_accepted() -> None:
    assert cv.contract_from_proto(contract_pb2.Contract(con_id=2**31 - 1)).con_id == 2**31 - 1
