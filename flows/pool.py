"""The build's worker pool: spawned processes, created on first use, that the pure stages get as ``mapper``.

Kept free of Prefect so that the benchmarks can use the very same pool without starting a Prefect server.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor

IN_FLIGHT_PER_WORKER = 4  # jobs handed out ahead per worker: enough to keep it busy, few enough to bound memory


class ProcessPool:
    """``map(fn, jobs)`` over spawned processes (OMP_THREAD_LIMIT=1 is inherited from the environment).

    ``jobs`` may be a generator: each job is handed to a worker as soon as it is made, so a stage that prepares
    jobs one by one (cuts a scanned page out of its book, say) overlaps that work with the workers'. At most
    IN_FLIGHT_PER_WORKER jobs per worker are made ahead of the results (``Executor.map`` would take the whole
    generator at once, holding every job in memory). A single job, or a pool of one worker, runs in this
    process: no pool is started for it."""

    def __init__(self, workers: int):
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _ensure(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn"))
        return self._pool

    def map(self, fn: Callable, jobs: Iterable) -> list:
        it = iter(jobs)
        head = list(itertools.islice(it, 2))  # enough to tell one job from several
        if self.workers <= 1 or len(head) <= 1:
            return [fn(job) for job in itertools.chain(head, it)]
        pool = self._ensure()
        pending: deque[Future] = deque()
        out = []
        for job in itertools.chain(head, it):
            pending.append(pool.submit(fn, job))
            if len(pending) >= self.workers * IN_FLIGHT_PER_WORKER:
                out.append(pending.popleft().result())
        out.extend(f.result() for f in pending)
        return out

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None
