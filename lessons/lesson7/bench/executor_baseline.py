#!/usr/bin/python3
"""Lesson 7.2 baseline: concurrent.futures on the same shapes as executor_bench.cpp.

Run with the system interpreter:  /usr/bin/python3 lessons/lesson7/bench/executor_baseline.py
Prints one line per measurement; the lesson README's table compares them with the C++ figures.
"""
import argparse
import concurrent.futures as cf
import time


def empty():
    return None


def one():
    return 1


def echo(x):
    return x


def spin(rounds):
    x = 88172645463325252
    mask = (1 << 64) - 1
    for _ in range(rounds):
        x ^= (x << 13) & mask
        x ^= x >> 7
        x ^= (x << 17) & mask
    return x


def rounds_for_10us():
    rounds = 10
    while True:
        t0 = time.perf_counter()
        for _ in range(100):
            spin(rounds)
        us = (time.perf_counter() - t0) / 100 * 1e6
        if us >= 9.5:
            return max(1, int(rounds * 10.0 / us))
        rounds *= 2


def rate(n, seconds):
    return n / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=200_000,
                        help="empty tasks per pool measurement (default 200000; C++ uses 1 M)")
    parser.add_argument("--workers", type=int, default=2, help="pool size (default 2)")
    args = parser.parse_args()
    n, w = args.tasks, args.workers

    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(max_workers=w) as pool:
        for _ in range(n):
            pool.submit(empty)
    print(f"threads  detached (submit, no result)  {rate(n, time.perf_counter() - t0) / 1e6:.3f} M tasks/s")

    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(max_workers=w) as pool:
        futures = [pool.submit(one) for _ in range(n)]
        total = sum(f.result() for f in futures)
    assert total == n
    print(f"threads  futures (submit + result)     {rate(n, time.perf_counter() - t0) / 1e6:.3f} M tasks/s")

    rounds = rounds_for_10us()
    work = 2000
    t0 = time.perf_counter()
    for _ in range(work):
        spin(rounds)
    serial = time.perf_counter() - t0
    with cf.ThreadPoolExecutor(max_workers=w) as pool:
        t0 = time.perf_counter()
        list(pool.map(spin, [rounds] * work))
        threaded = time.perf_counter() - t0
    with cf.ProcessPoolExecutor(max_workers=w) as pool:
        pool.submit(empty).result()  # workers started before timing
        t0 = time.perf_counter()
        list(pool.map(spin, [rounds] * work, chunksize=1))
        procs = time.perf_counter() - t0
        t0 = time.perf_counter()
        list(pool.map(spin, [rounds] * work, chunksize=100))
        procs_chunked = time.perf_counter() - t0
    print(f"speedup  10 us tasks, threads             {serial / threaded:.2f}x (the GIL)")
    print(f"speedup  10 us tasks, processes chunk 1   {serial / procs:.2f}x")
    print(f"speedup  10 us tasks, processes chunk 100 {serial / procs_chunked:.2f}x")

    with cf.ProcessPoolExecutor(max_workers=1) as pool:
        pool.submit(echo, 0).result()
        trips = 2000
        t0 = time.perf_counter()
        for i in range(trips):
            pool.submit(echo, i).result()
        print(f"process  round trip                    {(time.perf_counter() - t0) / trips * 1e6:.1f} us")
        payload = b"x" * (1 << 20)
        t0 = time.perf_counter()
        for _ in range(50):
            pool.submit(echo, payload).result()
        print(f"process  1 MiB round trip              {(time.perf_counter() - t0) / 50 * 1e6:.1f} us")

    starts = 5
    t0 = time.perf_counter()
    for _ in range(starts):
        with cf.ProcessPoolExecutor(max_workers=w) as pool:
            list(pool.map(echo, [1, 2]))
    print(f"process  pool start-up + 2 tasks + exit {(time.perf_counter() - t0) / starts * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
