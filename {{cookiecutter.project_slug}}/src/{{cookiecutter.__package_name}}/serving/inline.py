"""Whether a model is cheap enough to predict on the event loop, and whether it stays so.

Why: for a linear model, handing a single row to the inference thread and back costs
more than ``predict_proba`` itself (~80 us); predicting on the loop served 25 % more
requests per second on 2 cores. At warm-up the model's single-row predict is timed; if
its p99 is under ``SERVING_INLINE_MAX_MS``, single rows are predicted on the event loop.
A model that later runs over that budget on a good share of its calls, or once past the
deadline, is moved back to the thread for good: the loop must never be held by a slow model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

WARM_CALLS = 5  # first calls fill caches; not timed
TIMED_CALLS = 200
MAX_STRIKES = 3  # over-budget calls that end the warm-up timing early
SHARE_WEIGHT = 0.02  # moving average over ~50 calls
MAX_SLOW_SHARE = 0.2  # over budget on more than 20 % of recent calls: leave the loop


@dataclass
class InlineBudget:
    """The per-call time allowed on the event loop, and how often calls went over it."""

    limit_s: float
    measured_p99_s: float
    slow_share: float = 0.0  # moving average of "this call was over the limit"

    def record(self, elapsed: float, deadline_s: float) -> bool:
        """Account one inline call; False when the model must leave the event loop.

        A moving share rather than one slow call: on a busy machine the OS sometimes
        pre-empts the loop mid-call, which makes a single call look slow. A model that is
        really over budget is over on every call and leaves after ~12 calls; one that
        took longer than the deadline leaves at once.
        """
        slow = elapsed > self.limit_s
        self.slow_share = self.slow_share * (1 - SHARE_WEIGHT) + SHARE_WEIGHT * slow
        return self.slow_share <= MAX_SLOW_SHARE and elapsed <= deadline_s


def single_row_p99(
    predict: Callable[[np.ndarray], object], row: np.ndarray, limit_s: float
) -> float | None:
    """p99 seconds of ``predict(row)``; None as soon as the model is clearly over ``limit_s``.

    Stops early (after ``MAX_STRIKES`` slow calls) so that a slow model does not delay the
    start-up by ``TIMED_CALLS`` slow calls.
    """
    for _ in range(WARM_CALLS):
        started = time.perf_counter()
        predict(row)
        if time.perf_counter() - started > 100 * limit_s:
            return None  # orders of magnitude too slow: do not time it further
    timings: list[float] = []
    slow = 0
    for _ in range(TIMED_CALLS):
        started = time.perf_counter()
        predict(row)
        elapsed = time.perf_counter() - started
        timings.append(elapsed)
        slow += elapsed > limit_s
        if slow >= MAX_STRIKES:
            return None
    return float(np.quantile(timings, 0.99))


def measure_budget(
    predict: Callable[[np.ndarray], object], row: np.ndarray, max_ms: float
) -> InlineBudget | None:
    """An ``InlineBudget`` if single-row p99 is under ``max_ms`` (0 disables), else None."""
    if max_ms <= 0:
        return None
    limit_s = max_ms / 1000
    p99 = single_row_p99(predict, row.reshape(1, -1), limit_s)
    if p99 is None or p99 > limit_s:
        return None
    return InlineBudget(limit_s=limit_s, measured_p99_s=p99)
