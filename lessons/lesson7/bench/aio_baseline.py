#!/usr/bin/python3
"""Lesson 7.3 baseline: the cost of one asyncio task, the twin of aio_bench.cpp.

Each round creates a task for a coroutine that returns at once, lets the loop run it, and awaits it:
`await asyncio.create_task(child())`. Run with the system interpreter:
    /usr/bin/python3 lessons/lesson7/bench/aio_baseline.py --tasks 200000
Prints one line, asyncio_us_per_task=X (aio_bench runs it and prints the ratio).
"""
import argparse
import asyncio
import time


async def child():
    return 1


async def spawn_and_await(n):
    t0 = time.perf_counter()
    for _ in range(n):
        await asyncio.create_task(child())
    return (time.perf_counter() - t0) / n * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200000, help="tasks to create and await")
    args = parser.parse_args()
    if args.tasks <= 0:
        parser.error("--tasks must be positive")
    us = asyncio.run(spawn_and_await(args.tasks))
    print(f"asyncio_us_per_task={us:.3f}")


if __name__ == "__main__":
    main()
