#!/usr/bin/env python3
"""The Python side of lesson 7.1's chart: the seed's experiment with threads, processes and asyncio.

Runs the same two workloads as gil_chart_bench.cpp, 20 tasks each: "cpu" computes
sum(i * i for i in range(n)) for n = 10_000_000 + x, x in 0..19; "wait" sleeps 10 ms per task.
Strategies: serial, threads (2 and 20 workers), processes (2 and 20 workers), asyncio (one loop).
Prints wall-clock seconds per strategy and the speed relative to serial. Standard library only.
"""

import argparse
import asyncio
import concurrent.futures
import os
import time

TASKS = 20
WAIT_S = 0.010
LAST_SEED_SUM = 333335183336755002109  # sum of i*i for i < 10_000_019, as the seed printed it


def cpu_task(n):
    return sum(i * i for i in range(n))


def wait_task(_n):
    time.sleep(WAIT_S)
    return 0


def inputs():
    return [10_000_000 + x for x in range(TASKS)]


def serial(task):
    return [task(n) for n in inputs()]


def threads(task, workers):
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(task, inputs()))


def processes(task, workers):
    # Pool start-up is part of the cost, as in the seed (a fresh pool per run).
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(task, inputs()))


def event_loop(task):
    async def one(n):
        if task is wait_task:
            await asyncio.sleep(WAIT_S)
            return 0
        return cpu_task(n)  # CPU work in a coroutine blocks the loop until it returns

    async def run_all():
        return await asyncio.gather(*(one(n) for n in inputs()))

    return asyncio.run(run_all())


def best_time(run, repeats):
    """Returns the best wall-clock time of `repeats` runs and the last run's results."""
    best, results = None, None
    for _ in range(repeats):
        start = time.perf_counter()
        results = run()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best, results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-repeats", type=int, default=1,
                        help="runs per CPU-bound strategy, best kept (default 1: each run takes seconds)")
    parser.add_argument("--wait-repeats", type=int, default=5,
                        help="runs per wait-bound strategy, best kept (default 5)")
    args = parser.parse_args()
    cores = os.cpu_count() or 1

    rows = []
    for label, task, repeats in (("cpu", cpu_task, args.cpu_repeats),
                                 ("wait", wait_task, args.wait_repeats)):
        strategies = [("serial", lambda t=task: serial(t))]
        for workers in (cores, TASKS):
            strategies.append((f"threads:{workers}", lambda t=task, w=workers: threads(t, w)))
        for workers in (cores, TASKS):
            strategies.append((f"processes:{workers}", lambda t=task, w=workers: processes(t, w)))
        strategies.append(("asyncio", lambda t=task: event_loop(t)))
        serial_time = None
        for name, run in strategies:
            seconds, results = best_time(run, repeats)
            if label == "cpu" and results[-1] != LAST_SEED_SUM:
                raise SystemExit(f"gil_chart.py: {label}/{name} computed a wrong sum")
            serial_time = serial_time or seconds
            rows.append((f"{label}/{name}", seconds, serial_time / seconds))
            print(f"{label}/{name:<14} {seconds * 1000:10.1f} ms {serial_time / seconds:7.2f}x",
                  flush=True)
    return rows


if __name__ == "__main__":
    main()
