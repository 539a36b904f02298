"""The directory resolves a reader's role name (a REST read's `reply_to`) to its actor ref,
as long as that actor lives."""

from __future__ import annotations

import pykka

from kernel.directory import Directory


class Ref:
    """Stands in for an actor ref: only whether the actor lives matters here."""

    def __init__(self, alive: bool = True) -> None:
        self.alive = alive

    def is_alive(self) -> bool:
        return self.alive


def test_a_registered_reader_is_found_by_its_name():
    directory, scanner, supervisor = Directory(), Ref(), Ref()
    directory.register("scanner", scanner)
    directory.register("supervisor", supervisor)
    assert directory.resolve("scanner") is scanner and directory.resolve("supervisor") is supervisor


def test_an_unknown_name_resolves_to_nobody():
    assert Directory().resolve("maker:s-404") is None


def test_a_stopped_reader_resolves_to_nobody_and_is_forgotten():
    directory, maker = Directory(), Ref()
    directory.register("maker:s-1", maker)
    maker.alive = False
    assert directory.resolve("maker:s-1") is None
    assert directory.names() == []


def test_registering_again_replaces_the_earlier_holder_of_the_name():
    directory, crashed, restarted = Directory(), Ref(), Ref()
    directory.register("maker:s-1", crashed)
    directory.register("maker:s-1", restarted)
    assert directory.resolve("maker:s-1") is restarted


def test_each_registration_sweeps_out_readers_that_have_stopped():
    directory, ended = Directory(), Ref()
    directory.register("maker:s-1", ended)
    ended.alive = False  # its session ended; no reply ever came for it
    directory.register("maker:s-2", Ref())
    assert directory.names() == ["maker:s-2"]


def test_a_pykka_actor_is_forgotten_once_it_stops():
    directory = Directory()
    ref = pykka.ThreadingActor.start()
    directory.register("scanner", ref)
    assert directory.resolve("scanner") is ref
    ref.stop()
    assert directory.resolve("scanner") is None
