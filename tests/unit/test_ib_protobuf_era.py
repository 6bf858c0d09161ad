"""The bridge in the protobuf era: absent fields stay unset, and the offered version range.

ibapi's protobuf decoder turns an absent field into 0 before its classic callback; the bridge's
decoder (server/ib/decoding.py) hands those replies to the wrapper as raw messages, so an
absent realized PnL or price is None in the events, while a present one (IB's UNSET_DOUBLE
included) converts as in the text era.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from ibapi.const import UNSET_DOUBLE
from ibapi.decoder import Decoder
from ibapi.message import IN
from ibapi.protobuf.CommissionAndFeesReport_pb2 import CommissionAndFeesReport
from ibapi.protobuf.Contract_pb2 import Contract as ContractProto
from ibapi.protobuf.PortfolioValue_pb2 import PortfolioValue
from ibkr_broker.server.ib import connection
from ibkr_broker.server.ib.decoding import BridgeDecoder
from ibkr_broker.server.ib.gateway import IbGateway
from ibkr_broker.server.ib.versions import PROVEN_MAX_SERVER_VERSION, era_name
from ibkr_broker.server.ib.wrapper import EventWrapper
from ibkr_broker.server.session.ib_port import CommissionEvent, IbEvent, PortfolioEvent

pytestmark = pytest.mark.timeout(30)

VERSION = 226


def decode(message: bytes, msg_id: int, decoder_class: type = BridgeDecoder) -> list[IbEvent]:
    """The events the bridge's wrapper posts for one protobuf reply."""
    loop = asyncio.new_event_loop()
    events: list[IbEvent] = []
    try:
        decoder = decoder_class(EventWrapper(loop, events.append), VERSION)
        decoder.processProtoBuf(message, msg_id)
        loop.run_until_complete(asyncio.sleep(0))  # runs the call_soon_threadsafe callbacks
    finally:
        loop.close()
    return events


def commission(**fields: object) -> bytes:
    return CommissionAndFeesReport(execId="0001.01", currency="USD", **fields).SerializeToString()


def test_absent_realized_pnl_is_unset_not_zero() -> None:
    (event,) = decode(commission(commissionAndFees=1.05), IN.COMMISSION_AND_FEES_REPORT)
    assert event == CommissionEvent("0001.01", Decimal("1.05"), "USD", None)


def test_ibapis_own_decoder_would_have_said_zero() -> None:
    """The reason for BridgeDecoder: ibapi's decoder calls the raw-message callback and then
    the classic one, which reads the absent PnL as 0.0 (and would post a second event)."""
    raw, classic = decode(
        commission(commissionAndFees=1.05), IN.COMMISSION_AND_FEES_REPORT, Decoder
    )
    assert isinstance(raw, CommissionEvent) and raw.realized_pnl is None
    assert isinstance(classic, CommissionEvent) and classic.realized_pnl == Decimal(0)


@pytest.mark.parametrize(
    ("pnl", "expected"), [(-12.5, Decimal("-12.5")), (0.0, Decimal(0)), (UNSET_DOUBLE, None)]
)
def test_present_realized_pnl_converts_as_in_the_text_era(pnl: float, expected: object) -> None:
    (event,) = decode(
        commission(commissionAndFees=1.0, realizedPNL=pnl), IN.COMMISSION_AND_FEES_REPORT
    )
    assert isinstance(event, CommissionEvent) and event.realized_pnl == expected


def test_absent_commission_is_zero_and_nothing_else_is_posted() -> None:
    (event,) = decode(commission(), IN.COMMISSION_AND_FEES_REPORT)
    assert event == CommissionEvent("0001.01", Decimal(0), "USD", None)


AAPL = ContractProto(conId=265598, symbol="AAPL", secType="STK", currency="USD")


def test_portfolio_line_without_prices_leaves_them_unset() -> None:
    message = PortfolioValue(contract=AAPL, position="100", averageCost=140.1, accountName="DU1")
    (event,) = decode(message.SerializeToString(), IN.PORTFOLIO_VALUE)
    assert isinstance(event, PortfolioEvent)
    assert (event.account, event.contract.symbol, event.contract.con_id) == ("DU1", "AAPL", 265598)
    assert event.position == Decimal(100) and event.average_cost == Decimal("140.1")
    assert event.market_price is None and event.market_value is None
    assert event.unrealized_pnl is None and event.realized_pnl is None


def test_portfolio_line_with_every_value() -> None:
    message = PortfolioValue(
        contract=AAPL,
        position="-2.5",
        marketPrice=150.25,
        marketValue=-375.625,
        averageCost=140.1,
        unrealizedPNL=-25.375,
        realizedPNL=0.0,
        accountName="DU1",
    )
    (event,) = decode(message.SerializeToString(), IN.PORTFOLIO_VALUE)
    assert isinstance(event, PortfolioEvent)
    assert (event.position, event.market_price, event.market_value) == (
        Decimal("-2.5"),
        Decimal("150.25"),
        Decimal("-375.625"),
    )
    assert (event.unrealized_pnl, event.realized_pnl) == (Decimal("-25.375"), Decimal(0))


def test_portfolio_line_without_a_contract_is_dropped_as_ibapi_does() -> None:
    assert decode(PortfolioValue(accountName="DU1").SerializeToString(), IN.PORTFOLIO_VALUE) == []


def test_text_era_commission_report_keeps_the_classic_path() -> None:
    loop = asyncio.new_event_loop()
    events: list[IbEvent] = []
    try:
        decoder = BridgeDecoder(EventWrapper(loop, events.append), 178)
        fields = [b"1", b"0001.01", b"1.05", b"USD", b"1.7976931348623157E308", b"", b""]
        decoder.interpret(fields, IN.COMMISSION_AND_FEES_REPORT)
        loop.run_until_complete(asyncio.sleep(0))
    finally:
        loop.close()
    assert events == [CommissionEvent("0001.01", Decimal("1.05"), "USD", None)]


def test_the_handshake_offers_up_to_the_ceiling() -> None:
    assert connection._version_request(178) == b"API\0\0\0\0\x09v100..178"
    assert connection._version_request(226).endswith(b"v100..226")


def test_gateway_refuses_a_ceiling_ibapi_cannot_speak() -> None:
    assert IbGateway().max_server_version == PROVEN_MAX_SERVER_VERSION
    assert IbGateway(max_server_version=178).max_server_version == 178
    for bad in (99, 227):
        with pytest.raises(ValueError, match=f"{bad} is outside the versions ibapi speaks"):
            IbGateway(max_server_version=bad)


def test_era_names() -> None:
    assert (era_name(178), era_name(200), era_name(201), era_name(226)) == (
        "text era",
        "text era",
        "protobuf era",
        "protobuf era",
    )
