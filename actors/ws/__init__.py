"""WS connection: the authenticated Kalshi WebSocket, decoded into mmd messages."""

from ._actor import WsConnectionActor
from ._connector import LiveConnector, LoopbackConnector, WebSocketConnector
from ._core import (
    HEARTBEAT_TIMER,
    MARKET_CHANNELS,
    PRIVATE_CHANNELS,
    RECONNECT_TIMER,
    CloseSocket,
    Connect,
    SendCommand,
    WsCore,
    WsReconnectDue,
)
from ._decoder import BOOK_TYPES, CONTROL_TYPES, DecodedFrame, FeedDecoder, FrameDecodeError
from ._sequence import SequenceTracker, SequenceVerdict

__all__ = [
    "WsConnectionActor",
    "WsCore",
    "WsReconnectDue",
    "Connect",
    "CloseSocket",
    "SendCommand",
    "PRIVATE_CHANNELS",
    "MARKET_CHANNELS",
    "RECONNECT_TIMER",
    "HEARTBEAT_TIMER",
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
