"""The Kalshi protocol layer, shared by the actors and the simulated exchange.

- `kalshi.wire`: the fixed-point wire format (dollar and count strings, timestamps);
- `kalshi.auth`: RSA-PSS request signing and verification, key loading;
- `kalshi.shapes`: Kalshi's JSON replies parsed into typed values.

It imports only `messages` and the standard library: never actors, never mmd.
"""
