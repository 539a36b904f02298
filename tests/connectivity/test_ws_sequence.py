from actors.ws import SequenceTracker


def tracker_with_two_books() -> SequenceTracker:
    sequence = SequenceTracker()
    sequence.observe(2, 1, ticker="A", snapshot=True)
    sequence.observe(2, 2, ticker="B", snapshot=True)
    return sequence


def test_consecutive_deltas_after_a_snapshot_are_applied():
    sequence = tracker_with_two_books()
    verdict = sequence.observe(2, 3, ticker="A")
    assert verdict.apply and not verdict.gap


def test_a_gap_untrusts_every_market_of_the_sid_until_its_snapshot():
    sequence = tracker_with_two_books()
    gap = sequence.observe(2, 5, ticker="A")
    assert gap.gap and not gap.apply and gap.refresh == ("A", "B")
    assert sequence.gaps == 1
    assert not sequence.observe(2, 6, ticker="B").apply  # still untrusted, no new gap
    assert sequence.observe(2, 7, ticker="B", snapshot=True).apply
    assert sequence.observe(2, 8, ticker="B").apply
    assert not sequence.observe(2, 9, ticker="A").apply
    assert sequence.gaps == 1


def test_a_gap_seen_first_on_a_snapshot_untrusts_every_other_market_of_the_sid():
    sequence = tracker_with_two_books()  # A at seq 1, B at seq 2
    assert sequence.observe(2, 3, ticker="A").apply
    # seq 4 (a delta for B) is lost; seq 5 is a snapshot of A
    verdict = sequence.observe(2, 5, ticker="A", snapshot=True)
    assert verdict.gap and verdict.apply and verdict.refresh == ("B",)
    assert sequence.gaps == 1
    assert sequence.is_trusted("A") and not sequence.is_trusted("B")
    assert not sequence.observe(2, 6, ticker="B").apply  # B's book is wrong until its snapshot
    assert sequence.observe(2, 7, ticker="A").apply
    assert sequence.observe(2, 8, ticker="B", snapshot=True).apply
    assert sequence.observe(2, 9, ticker="B").apply
    assert sequence.gaps == 1


def test_a_snapshot_at_the_next_seq_is_not_a_gap_and_refreshes_nothing():
    sequence = tracker_with_two_books()
    verdict = sequence.observe(2, 3, ticker="A", snapshot=True)
    assert not verdict.gap and verdict.apply and verdict.refresh == ()
    assert sequence.is_trusted("A") and sequence.is_trusted("B") and sequence.gaps == 0


def test_a_gap_on_a_snapshot_refreshes_watched_markets_but_not_the_snapshot_market():
    sequence = tracker_with_two_books()
    sequence.watch(2, ["C"])
    assert sequence.observe(2, 4, ticker="B", snapshot=True).refresh == ("A", "C")


def test_a_repeated_or_old_seq_is_a_gap_too():
    sequence = tracker_with_two_books()
    assert sequence.observe(2, 2, ticker="A").gap


def test_watched_markets_without_frames_are_refreshed_on_a_gap():
    sequence = tracker_with_two_books()
    sequence.watch(2, ["C"])
    assert sequence.observe(2, 4, ticker="A").refresh == ("A", "B", "C")


def test_gaps_on_other_sids_do_not_touch_these_books():
    sequence = tracker_with_two_books()
    sequence.observe(9, 1)
    assert sequence.observe(9, 3).gap
    assert sequence.observe(2, 3, ticker="A").apply


def test_control_replies_never_cause_a_false_gap_whichever_way_they_count():
    consuming = tracker_with_two_books()
    consuming.observe_control(2, 3)  # the reply took seq 3
    assert not consuming.observe(2, 4, ticker="A").gap
    not_consuming = tracker_with_two_books()
    not_consuming.observe_control(2, 7)  # a reply on its own counter
    assert not not_consuming.observe(2, 3, ticker="A").gap


def test_reset_on_reconnect_forgets_sids_and_trust():
    sequence = tracker_with_two_books()
    sequence.reset()
    assert not sequence.is_trusted("A")
    assert not sequence.observe(2, 40, ticker="A").gap  # first frame of a new sid numbering
