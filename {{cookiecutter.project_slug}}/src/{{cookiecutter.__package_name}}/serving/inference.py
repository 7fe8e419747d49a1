"""Runs the model off the event loop, with a bounded queue and a deadline per request.

Why one worker thread that batches: handing each request to a thread pool cost more
than a linear model's predict (and GIL hand-offs gave 60-100 ms p99 spikes); one thread
that takes every waiting request, stacks the rows and calls the model once keeps the
event loop free, amortises the model's per-call overhead under load, and makes overload
and deadlines easy to enforce: a full queue answers 503 at once, a request past its
deadline answers 504 and its rows are skipped if the model has not started on them.

Every numpy call of the thread path happens in the worker thread: numpy releases the GIL
inside some calls, and an event loop that gives the GIL away mid-request waits for the
worker's next batch (an ``argmax`` on the loop took 115 us on average that way).

The inline path (``predict_inline``): when the warm-up measured the model's single-row
predict far under a millisecond (see ``inline.py``), the hand-off to the thread and back
costs more than the model. Single rows are then predicted on the event loop: requests that
arrive in the same loop iteration are stacked and predicted in one call by a callback, so
the batching stays and the hand-off goes (+25 % req/s for a linear model on 2 cores). The
overload limit, the output checks and the error handling are the same; the thread is idle
meanwhile, so nothing competes for the GIL. A model that gets slow goes back to the thread.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .inline import InlineBudget
from .predictor import trust_inputs

logger = logging.getLogger(__name__)


class Overloaded(RuntimeError):
    """Too many requests are waiting for the model."""


class DeadlineExceeded(RuntimeError):
    """The model did not answer in time."""


class InferenceFailed(RuntimeError):
    """The model raised or returned something unusable (details are in the log)."""


class WorkerStopped(RuntimeError):
    """The worker is shutting down."""


Row = Sequence[float]


@dataclass
class _Job:
    rows: list[Row]
    future: asyncio.Future[list[Any]]
    loop: asyncio.AbstractEventLoop
    request_id: str


def _settle(job: _Job, result: list[Any] | None, error: BaseException | None) -> None:
    """Runs on the event loop: hand the result to the waiting request, if it still waits."""
    if job.future.done():
        return
    if error is not None:
        job.future.set_exception(error)
    else:
        job.future.set_result(result)  # type: ignore[arg-type]


class InferenceWorker:
    """A single thread that predicts for every queued request, several at a time."""

    def __init__(
        self,
        predict: Callable[[np.ndarray], np.ndarray],
        answers: Callable[[np.ndarray], list[Any]],
        *,
        max_pending: int,
        max_rows_per_call: int,
        timeout_s: float,
        inline: InlineBudget | None = None,
    ) -> None:
        self._predict = predict
        self._answers = answers
        self.max_pending = max_pending
        self.max_rows_per_call = max_rows_per_call
        self.timeout_s = timeout_s
        self._queue: collections.deque[_Job] = collections.deque()
        self._pending = 0  # queued + being predicted; guarded by _cond
        self._cond = threading.Condition()
        self._stopping = False
        self.inline = inline  # None: every request goes through the thread
        self._inline_jobs: list[_Job] = []  # touched on the event loop only
        self._thread = threading.Thread(target=self._run, name="inference", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Requests queued or being predicted (abandoned ones count until the model is done)."""
        return self._pending

    def _admit_locked(self) -> None:
        """Count one more request in, or refuse it; the caller holds ``_cond``.

        Both paths share the one bound, so inline and thread requests overload together.
        """
        if self._stopping:
            raise WorkerStopped("the inference worker is stopping")
        if self._pending >= self.max_pending:
            raise Overloaded(f"{self._pending} requests are already waiting")
        self._pending += 1

    async def predict(self, rows: list[Row], request_id: str = "-") -> list[Any]:
        """One answer per row; raises Overloaded, DeadlineExceeded or InferenceFailed."""
        loop = asyncio.get_running_loop()
        job = _Job(rows, loop.create_future(), loop, request_id)
        with self._cond:
            self._admit_locked()
            self._queue.append(job)
            self._cond.notify()
        try:
            return await asyncio.wait_for(job.future, self.timeout_s)
        except TimeoutError as error:
            raise DeadlineExceeded(f"no answer within {self.timeout_s} s") from error

    async def predict_inline(self, rows: list[Row], request_id: str = "-") -> list[Any]:
        """Predict on the event loop's thread; same errors as ``predict``.

        Only for models the warm-up measured as tiny. Requests that arrive in the same
        loop iteration are predicted together in one call (``_flush_inline``), which keeps
        the batching of the thread path without its hand-off. The call cannot be
        interrupted, so the deadline is checked when it returns: a late answer is still a
        504, and a model that turned slow is moved to the thread (``InlineBudget.record``).
        """
        loop = asyncio.get_running_loop()
        job = _Job(rows, loop.create_future(), loop, request_id)
        with self._cond:
            self._admit_locked()
        self._inline_jobs.append(job)
        if len(self._inline_jobs) == 1:
            loop.call_soon(self._flush_inline)
        return await job.future

    def _flush_inline(self) -> None:
        """Runs on the event loop: predict every job queued since the last flush at once."""
        jobs, self._inline_jobs = self._inline_jobs, []
        started = time.perf_counter()
        try:
            matrix = np.array([row for job in jobs for row in job.rows], dtype=np.float64)
            outputs = self._answers(self._predict(matrix))
        except Exception as error:
            self._log_failure(error, [job.request_id for job in jobs])
            failure: BaseException | None = InferenceFailed("prediction failed")
            outputs = []
        else:
            failure = None
        elapsed = time.perf_counter() - started
        with self._cond:
            self._pending -= len(jobs)
        self._check_inline(elapsed)
        if failure is None and elapsed > self.timeout_s:
            failure = DeadlineExceeded(f"no answer within {self.timeout_s} s")
        start = 0
        for job in jobs:
            end = start + len(job.rows)
            _settle(job, outputs[start:end], failure)
            start = end

    def _check_inline(self, elapsed: float) -> None:
        """Move a model that got slow to the thread, for every later request."""
        if self.inline is not None and not self.inline.record(elapsed, self.timeout_s):
            self.inline = None
            logger.warning(
                "the model got slow: predictions move to the inference thread",
                extra={"predict_ms": round(elapsed * 1000, 3)},
            )

    def stop(self, timeout: float = 5.0) -> None:
        """Finish queued work, then end the thread (called at shutdown)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout)

    @staticmethod
    def _log_failure(error: Exception, request_ids: list[str]) -> None:
        """The real cause, in the log only (the client gets a generic 500 with its id)."""
        logger.error(
            "prediction failed: %s: %s",
            type(error).__name__,
            error,
            exc_info=error,
            extra={"request_ids": request_ids},
        )

    def _take(self) -> list[_Job] | None:
        """Wait for work; take queued jobs up to the row budget (None when stopping)."""
        with self._cond:
            while not self._queue:
                if self._stopping:
                    return None
                self._cond.wait()
            jobs: list[_Job] = []
            rows = 0
            while self._queue and (
                not jobs or rows + len(self._queue[0].rows) <= self.max_rows_per_call
            ):
                job = self._queue.popleft()
                if job.future.done():  # its request gave up (deadline): skip the work
                    self._pending -= 1
                    continue
                jobs.append(job)
                rows += len(job.rows)
            return jobs

    def _run(self) -> None:
        trust_inputs()
        while (jobs := self._take()) is not None:
            if not jobs:
                continue
            results: list[tuple[_Job, list[Any] | None, BaseException | None]] = []
            try:
                matrix = np.array([row for job in jobs for row in job.rows], dtype=np.float64)
                outputs = self._answers(self._predict(matrix))
            except Exception as error:  # any model failure becomes a 500 for these requests
                self._log_failure(error, [job.request_id for job in jobs])
                results = [(job, None, InferenceFailed("prediction failed")) for job in jobs]
            else:
                start = 0
                for job in jobs:
                    end = start + len(job.rows)
                    results.append((job, outputs[start:end], None))
                    start = end
            with self._cond:
                self._pending -= len(jobs)
            for job, result, failure in results:
                try:
                    job.loop.call_soon_threadsafe(_settle, job, result, failure)
                except RuntimeError:  # the loop is closed: nobody waits any more
                    continue
