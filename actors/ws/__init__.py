"""WS connection: the authenticated Kalshi WebSocket, decoded into mmd messages."""

from ._actor import MARKET_CHANNELS, PRIVATE_CHANNELS, RECONNECT_TIMER, WsConnectionActor
from ._connector import LiveConnector, LoopbackConnector, WebSocketConnector
from ._decoder import BOOK_TYPES, CONTROL_TYPES, DecodedFrame, FeedDecoder, FrameDecodeError
from ._sequence import SequenceTracker, SequenceVerdict

__all__ = [
    "WsConnectionActor",
    "PRIVATE_CHANNELS",
    "MARKET_CHANNELS",
    "RECONNECT_TIMER",
    "WebSocketConnector",
    "LiveConnector",
    "LoopbackConnector",
    "FeedDecoder",
    "DecodedFrame",
    "FrameDecodeError",
    "CONTROL_TYPES",
    "BOOK_TYPES",
    "SequenceTracker",
    "SequenceVerdict",
]
