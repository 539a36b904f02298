"""Fill-rate limiter, warning levels, drawdown and daily loss, and the kill switch's state."""

from decimal import Decimal as D

from actors.risk import FillRateLimiter, KillSwitch, PnlLimits, WarningLevels, trading_day

S = 1_000_000_000
HOUR = 3600 * S
DAY = 24 * HOUR
MIDNIGHT = 19_700 * DAY  # a UTC midnight


# -- fill-rate limiter ------------------------------------------------------------------


def test_fill_rate_trips_once_when_a_minute_of_fills_exceeds_20_dollars():
    limiter = FillRateLimiter(D("20"), 60 * S)

    assert limiter.record("M", D("12.00"), 0) is False
    assert limiter.record("M", D("8.00"), 30 * S) is False  # exactly $20: not over
    assert limiter.record("M", D("0.01"), 31 * S) is True
    assert limiter.record("M", D("5.00"), 32 * S) is False  # already tripped: no second pause
    assert limiter.rate("M", 32 * S) == D("25.01")


def test_fill_rate_window_rolls_and_markets_are_separate():
    limiter = FillRateLimiter(D("20"), 60 * S)
    limiter.record("M", D("15.00"), 0)

    assert limiter.record("OTHER", D("15.00"), 10 * S) is False
    assert limiter.record("M", D("15.00"), 60 * S) is False  # the first fill left the window
    assert limiter.rate("M", 60 * S) == D("15.00")


def test_fill_rate_rearms_after_falling_back_under_the_limit():
    limiter = FillRateLimiter(D("20"), 60 * S)
    assert limiter.record("M", D("21"), 0) is True
    assert limiter.record("M", D("1"), 100 * S) is False  # window back under: re-armed

    assert limiter.record("M", D("20"), 101 * S) is True


# -- warning levels ---------------------------------------------------------------------


def test_each_level_is_reported_once_as_usage_rises():
    levels = WarningLevels((D("0.5"), D("0.8"), D("1.0")))

    assert levels.update("daily_loss", "", D("14"), D("30")) is None
    assert levels.update("daily_loss", "", D("15"), D("30")).level == D("0.5")
    assert levels.update("daily_loss", "", D("16"), D("30")) is None
    jump = levels.update("daily_loss", "", D("31"), D("30"))  # skips 0.8: one warning, the highest
    assert (jump.level, jump.used) == (D("1.0"), D("31") / D("30"))
    assert levels.update("daily_loss", "", D("29"), D("30")) is None


def test_a_level_rearms_when_usage_falls_below_it():
    levels = WarningLevels((D("0.8"),))
    assert levels.update("position", "M", D(16), D(20)).level == D("0.8")
    assert levels.update("position", "M", D(10), D(20)) is None

    assert levels.update("position", "M", D(17), D(20)).level == D("0.8")
    assert levels.update("position", "OTHER", D(17), D(20)).key == "OTHER"


def test_usage_hovering_at_a_level_warns_once_until_it_falls_past_the_rearm_margin():
    levels = WarningLevels((D("0.8"), D("1.0")), rearm_margin=D("0.1"))
    assert levels.update("market_exposure", "M", D("8.00"), D("8.00")).level == D("1.0")

    assert levels.update("market_exposure", "M", D("7.40"), D("8.00")) is None  # 0.925: held
    assert levels.update("market_exposure", "M", D("8.00"), D("8.00")) is None
    assert levels.update("market_exposure", "M", D("7.00"), D("8.00")) is None  # 0.875: 1.0 re-armed, 0.8 held
    assert levels.update("market_exposure", "M", D("8.00"), D("8.00")).level == D("1.0")


# -- drawdown and daily loss ------------------------------------------------------------


def test_drawdown_is_measured_from_the_running_peak():
    pnl = PnlLimits(D("20"), D("30"), 0)
    pnl.update(D("0"), MIDNIGHT + HOUR)
    pnl.update(D("12"), MIDNIGHT + 2 * HOUR)
    _, drawdown, daily_loss = pnl.update(D("-8"), MIDNIGHT + 3 * HOUR)

    assert (drawdown, daily_loss) == (D("20"), D("8"))
    assert [b.kind for b in pnl.breaches()] == ["drawdown"]  # 20 of 20: reached


def test_daily_loss_counts_from_the_days_opening_pnl_and_resets_next_day():
    pnl = PnlLimits(D("100"), D("30"), 0)
    pnl.update(D("5"), MIDNIGHT + HOUR)
    _, _, loss = pnl.update(D("-25"), MIDNIGHT + 23 * HOUR)
    assert loss == D("30")
    assert [b.kind for b in pnl.breaches()] == ["daily_loss"]

    new_day, _, loss = pnl.update(D("-26"), MIDNIGHT + DAY + 1)

    assert (new_day, loss) == (True, D("1"))  # the new day opened at -25
    assert pnl.breaches() == []


def test_trading_day_starts_at_the_configured_utc_hour():
    assert trading_day(MIDNIGHT + 13 * HOUR, 14) == trading_day(MIDNIGHT - HOUR, 14)
    assert trading_day(MIDNIGHT + 14 * HOUR, 14) == trading_day(MIDNIGHT - HOUR, 14) + 1


def test_a_resume_rebases_peak_and_day():
    pnl = PnlLimits(D("20"), D("30"), 0)
    pnl.update(D("10"), MIDNIGHT + HOUR)
    pnl.update(D("-15"), MIDNIGHT + 2 * HOUR)

    pnl.rebase(D("-15"), MIDNIGHT + 2 * HOUR)

    assert (pnl.drawdown, pnl.daily_loss, pnl.breaches()) == (D(0), D(0), [])


# -- kill switch ------------------------------------------------------------------------


def test_kill_switch_survives_a_restart_until_released(tmp_path):
    path = tmp_path / "kill_switch.json"
    switch = KillSwitch(path)
    assert switch.engage("fat finger", 123) is True
    assert switch.engage("again", 456) is False  # already engaged: the first reason stands

    restarted = KillSwitch(path)

    assert restarted.engaged and restarted.restored
    assert restarted.reason == "restored after restart: fat finger"
    assert restarted.release() is True
    assert not path.exists()
    assert KillSwitch(path).engaged is False


def test_an_unreadable_kill_switch_file_keeps_trading_halted(tmp_path, caplog):
    path = tmp_path / "kill_switch.json"
    path.write_text("{not json")

    switch = KillSwitch(path)

    assert switch.engaged
    assert "unreadable" in switch.reason
    caplog.clear()  # the error it logs is the expected one


def test_the_fill_rate_limiter_fires_again_once_its_window_has_emptied():
    limiter = FillRateLimiter(D("20"), 60 * S)
    assert limiter.record("M", D("25"), 0) is True

    assert limiter.rate("M", 200 * S) == 0  # every fill expired
    assert limiter.record("M", D("25"), 200 * S) is True  # a new burst: a new pause
    assert limiter.record("M", D("1"), 201 * S) is False  # still inside it


def test_the_fill_rate_limiter_fires_again_after_the_window_fell_back_under_the_limit():
    limiter = FillRateLimiter(D("20"), 60 * S)
    assert limiter.record("M", D("15"), 0) is False
    assert limiter.record("M", D("10"), 1 * S) is True  # 25
    assert limiter.record("M", D("1"), 30 * S) is False  # 26: still over, no second trip
    assert limiter.record("M", D("12"), 60 * S) is True  # the first fill expired (11: re-armed), then 23


def test_an_exposure_oscillating_around_a_level_warns_once_per_crossing():
    levels = WarningLevels((D("0.8"), D("1.0")), rearm_margin=D("0.1"), rearm_ns=60 * S)
    warnings = []
    # a maker replacing its quotes at the budget: exposure 0.85, dipping to 0.40 while an
    # order is cancelled before its replacement lands, every second for 20 s
    for second in range(20):
        used = D("6.80") if second % 2 == 0 else D("3.20")
        crossing = levels.update("market_exposure", "M", used, D("8.00"), second * S)
        warnings += [crossing.level] if crossing else []
    assert warnings == [D("0.8")]

    # it falls away and stays below 0.7 for a minute: the next crossing is a new one
    assert levels.update("market_exposure", "M", D("3.20"), D("8.00"), 30 * S) is None
    assert levels.update("market_exposure", "M", D("3.20"), D("8.00"), 90 * S) is None
    assert levels.update("market_exposure", "M", D("6.80"), D("8.00"), 91 * S).level == D("0.8")
