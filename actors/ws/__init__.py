"""WS connection: the authenticated Kalshi WebSocket, decoded into mmd messages."""

from ._actor import WsConnectionActor
from ._connector import LiveConnector, LoopbackConnector, WebSocketConnector
from ._core import (
    HEARTBEAT_TIMER,
    MARKET_CHANNELS,
    PRIVATE_CHANNELS,
    RECONNECT_TIMER,
    RESUBSCRIBE_TIMER,
    SILENCE_TIMER,
    CloseSocket,
    Connect,
    SendCommand,
    WsCore,
    WsReconnectDue,
    WsResubscribeDue,
    WsSilenceCheckDue,
)
from ._decoder import BOOK_TYPES, CONTROL_TYPES, DecodedFrame, FeedDecoder, FrameDecodeError
from ._sequence import SequenceTracker, SequenceVerdict
from ._silence import SilenceWatch

__all__ = [
    "WsConnectionActor",
    "WsCore",
    "WsReconnectDue",
    "WsResubscribeDue",
    "WsSilenceCheckDue",
    "Connect",
    "CloseSocket",
    "SendCommand",
    "PRIVATE_CHANNELS",
    "MARKET_CHANNELS",
    "RECONNECT_TIMER",
    "HEARTBEAT_TIMER",
    "RESUBSCRIBE_TIMER",
    "SILENCE_TIMER",
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
    "SilenceWatch",
]
