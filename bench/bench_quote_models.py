"""Cost of one quote decision per model (full pipeline) and of the fair-value sources.

    .venv/bin/python bench/bench_quote_models.py

Prints microseconds per call (median of 5 runs). Asserts nothing.
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import time
from decimal import Decimal as D
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actors.maker.models import QuoteContext, ShockDetector, build_fair_value, build_quoting_model  # noqa: E402
from config import load_config  # noqa: E402
from messages import BookView, ReferencePriceUpdated  # noqa: E402

CALLS = 2000


def per_call_us(fn) -> float:
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for i in range(CALLS):
            fn(i)
        runs.append((time.perf_counter() - started) / CALLS * 1e6)
    return statistics.median(runs)


def main() -> None:
    maker = load_config().maker
    book = BookView(
        ticker="X",
        bids=tuple((D("0.49") - D("0.01") * i, D(100)) for i in range(5)),
        asks=tuple((D("0.51") + D("0.01") * i, D(100)) for i in range(5)),
        trusted=True,
        ts_event=0,
        ts_recv=0,
    )
    base = QuoteContext(
        fair=D("0.50"), book=book, position=D(7), max_position=20, sigma=D("0.05"), gamma=D("0.3"), k=D("1.5"),
        now_ns=50, session_start_ns=0, session_end_ns=100, market_close_ns=10**15, tick=D("0.01"),
        maker_fee_series=True, base_size=D(5), min_spread=D("0.02"), max_spread=D("0.20"), max_notional=D(10),
    )
    for name in ("avellaneda_stoikov", "glft", "fixed_spread", "nhl_hybrid"):
        for levels in (1, 3):
            model = build_quoting_model(dataclasses.replace(maker.model, name=name, ladder_levels=levels))
            us = per_call_us(lambda i: model.plan(dataclasses.replace(base, position=D(i % 21 - 10))))
            print(f"plan {name:<20} levels={levels}: {us:8.1f} us/quote")
    for source in ("microprice", "ewma", "reference_blend"):
        fv = build_fair_value(dataclasses.replace(maker.fair_value, source=source))
        fv.on_reference(ReferencePriceUpdated(ticker="X", source="p", bid=D("0.5"), ask=D("0.52"), ts_event=0, ts_recv=0))

        def step(i, fv=fv):
            fv.on_book(book, i)
            fv.value(i)

        print(f"fair value {source:<16}: {per_call_us(step):8.1f} us/update+value")
    shock = ShockDetector(maker)
    print(f"shock update               : {per_call_us(lambda i: shock.update(D('0.50') + D('0.01') * (i % 3), i)):8.1f} us/update")


if __name__ == "__main__":
    main()
