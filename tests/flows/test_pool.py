"""The build's worker pool: in-process for one job, spawned workers for several, jobs taken from a generator as
they are made."""

import os
import time

from flows.pool import ProcessPool


def _pid_of(x):
    return x, os.getpid()


def _slow_pid(x):
    time.sleep(0.3)
    return x, os.getpid(), time.time()


def test_one_job_runs_here_and_starts_no_pool():
    pool = ProcessPool(2)
    assert pool.map(_pid_of, iter([7])) == [(7, os.getpid())]
    assert pool.map(_pid_of, []) == []
    assert pool._pool is None
    pool.close()


def _map_timed(n: int, pause=lambda i: 0.0):
    """Two workers map _slow_pid over a generator of ``n`` jobs; returns (results, the time each job was made)."""
    pool = ProcessPool(2)
    made = []

    def jobs():
        for i in range(n):
            time.sleep(pause(i))
            made.append(time.time())
            yield i

    try:
        out = pool.map(_slow_pid, jobs())
    finally:
        pool.close()
    assert [x for x, _pid, _t in out] == list(range(n))
    return out, made


def test_generator_jobs_go_to_workers_while_the_generator_still_runs():
    # a page cut out of its book, say (the later ones slow: room for the pool's start)
    out, made = _map_timed(4, lambda i: 0.2 if i < 2 else 2.0)
    assert all(pid != os.getpid() for _x, pid, _t in out)
    # the first job was finished by a worker before the generator made its last job (a list would come after)
    first_done = out[0][2]
    assert first_done < made[-1]


def test_a_generator_is_read_only_a_window_ahead_of_the_results():
    from flows.pool import IN_FLIGHT_PER_WORKER

    window = 2 * IN_FLIGHT_PER_WORKER
    out, made = _map_timed(window + 4)
    # the jobs past the window were made only after the first result came back (Executor.map takes them all)
    assert made[window - 1] < out[0][2] <= made[window]


def test_scanned_pages_read_in_workers_are_the_pages_read_here():
    from pipeline.extract import extract_book
    from pipeline.ingest import ingest
    from tests.pipeline.test_scanned import scanned_book

    data = scanned_book((0, 90, 0))
    book = ingest(data, "scan.pdf")
    pool = ProcessPool(2)
    try:
        there = extract_book(data, book, mapper=pool.map)
    finally:
        pool.close()
    here = extract_book(data, book)
    assert there.model_dump() == here.model_dump()
    assert [len(p.images) for p in there.pages] == [1, 1, 1]
