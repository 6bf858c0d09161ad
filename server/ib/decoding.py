"""ibapi's Decoder, with the protobuf replies whose absent fields mean "unset" left to the bridge.

ibapi's protobuf decoder first hands the raw message to a `<callback>ProtoBuf` EWrapper method
and then calls the classic callback with every absent field turned into 0: a commission report
without a realized PnL (an opening trade) and a portfolio line without a price would read as a
real zero, which the text era never said. For those replies `BridgeDecoder` parses the message
and calls only the raw-message callback; the wrapper converts it by the fields' presence
(protobuf_convert.py). Their text-era twins, and every other reply, keep ibapi's own path.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ibapi.decoder import Decoder, HandleInfo
from ibapi.message import IN
from ibapi.protobuf.CommissionAndFeesReport_pb2 import CommissionAndFeesReport
from ibapi.protobuf.PortfolioValue_pb2 import PortfolioValue


def _commission_report(decoder: Any, payload: bytes) -> None:
    message = CommissionAndFeesReport()
    message.ParseFromString(payload)
    decoder.wrapper.commissionAndFeesReportProtoBuf(message)


def _portfolio_value(decoder: Any, payload: bytes) -> None:
    message = PortfolioValue()
    message.ParseFromString(payload)
    decoder.wrapper.updatePortfolioProtoBuf(message)


class BridgeDecoder(Decoder):  # type: ignore[misc]
    """ibapi's Decoder; see the module docstring for the replies it routes differently."""

    msgId2handleInfoProtoBuf: ClassVar[dict[int, Any]] = {
        **Decoder.msgId2handleInfoProtoBuf,
        IN.COMMISSION_AND_FEES_REPORT: HandleInfo(proc=_commission_report),
        IN.PORTFOLIO_VALUE: HandleInfo(proc=_portfolio_value),
    }
