import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from ibkr_broker.v1 import contract_pb2 as _contract_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AccountSummary(_message.Message):
    __slots__ = ("account_id", "currency", "net_liquidation", "total_cash", "buying_power", "available_funds", "excess_liquidity", "maintenance_margin", "initial_margin", "equity_with_loan", "gross_position_value", "unrealized_pnl", "realized_pnl", "update_time")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    NET_LIQUIDATION_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CASH_FIELD_NUMBER: _ClassVar[int]
    BUYING_POWER_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FUNDS_FIELD_NUMBER: _ClassVar[int]
    EXCESS_LIQUIDITY_FIELD_NUMBER: _ClassVar[int]
    MAINTENANCE_MARGIN_FIELD_NUMBER: _ClassVar[int]
    INITIAL_MARGIN_FIELD_NUMBER: _ClassVar[int]
    EQUITY_WITH_LOAN_FIELD_NUMBER: _ClassVar[int]
    GROSS_POSITION_VALUE_FIELD_NUMBER: _ClassVar[int]
    UNREALIZED_PNL_FIELD_NUMBER: _ClassVar[int]
    REALIZED_PNL_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    currency: str
    net_liquidation: str
    total_cash: str
    buying_power: str
    available_funds: str
    excess_liquidity: str
    maintenance_margin: str
    initial_margin: str
    equity_with_loan: str
    gross_position_value: str
    unrealized_pnl: str
    realized_pnl: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, account_id: _Optional[str] = ..., currency: _Optional[str] = ..., net_liquidation: _Optional[str] = ..., total_cash: _Optional[str] = ..., buying_power: _Optional[str] = ..., available_funds: _Optional[str] = ..., excess_liquidity: _Optional[str] = ..., maintenance_margin: _Optional[str] = ..., initial_margin: _Optional[str] = ..., equity_with_loan: _Optional[str] = ..., gross_position_value: _Optional[str] = ..., unrealized_pnl: _Optional[str] = ..., realized_pnl: _Optional[str] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Position(_message.Message):
    __slots__ = ("account_id", "contract", "quantity", "average_cost", "market_price", "market_value", "unrealized_pnl", "realized_pnl")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_COST_FIELD_NUMBER: _ClassVar[int]
    MARKET_PRICE_FIELD_NUMBER: _ClassVar[int]
    MARKET_VALUE_FIELD_NUMBER: _ClassVar[int]
    UNREALIZED_PNL_FIELD_NUMBER: _ClassVar[int]
    REALIZED_PNL_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    contract: _contract_pb2.Contract
    quantity: str
    average_cost: str
    market_price: str
    market_value: str
    unrealized_pnl: str
    realized_pnl: str
    def __init__(self, account_id: _Optional[str] = ..., contract: _Optional[_Union[_contract_pb2.Contract, _Mapping]] = ..., quantity: _Optional[str] = ..., average_cost: _Optional[str] = ..., market_price: _Optional[str] = ..., market_value: _Optional[str] = ..., unrealized_pnl: _Optional[str] = ..., realized_pnl: _Optional[str] = ...) -> None: ...
