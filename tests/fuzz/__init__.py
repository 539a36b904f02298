"""Fuzzing: mutated real frames and replies through the real decoder, actors and REST client."""
