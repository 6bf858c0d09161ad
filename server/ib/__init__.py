"""The bridge to TWS / IB Gateway: the only package that imports `ibapi`.

`IbGateway` implements the session's `IbPort` protocol over ibapi's EClient (request encoders)
and Decoder, with its own handshake (a real deadline), offset-based framing (no quadratic
EReader) and a thin EventWrapper that turns callbacks into immutable events on the event loop.
"""

from .gateway import IbGateway

__all__ = ["IbGateway"]
