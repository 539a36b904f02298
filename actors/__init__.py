"""mmd's actors: one Pykka actor per role, each a thin shell over plain logic."""
