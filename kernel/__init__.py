"""The kernel: what every layer above stands on and nothing here imports from above.

- `kernel.bus`: message delivery between actors (in-flight tracker, publish/subscribe bus);
- `kernel.clock`: the one time seam (live wall clock, replay virtual clock);
- `kernel.ids`: identifiers that are pure functions of their inputs;
- `kernel.runtime`: how actors run (Pykka threads for live trading, one deterministic
  thread for replays).

Layers point down: messages and kernel <- kalshi (protocol) <- actors <- mmd (composition).
The simulated exchange (simex) sits beside the actors and uses only kalshi and kernel.
"""
