#!/usr/bin/python3
"""Lesson 7.3 peer: the seed's aiohttp downloader (Semaphore(10), as_completed) against a server.

Usage: /usr/bin/python3 async_downloader_aiohttp.py URL COUNT LIMIT
Fetches URL COUNT times with at most LIMIT in flight on one ClientSession (connections reused) and
prints the seconds the downloads took (interpreter start-up and imports excluded) and the bytes.
"""
import asyncio
import sys
import time

import aiohttp


async def fetch(session, sem, url):
    async with sem:
        async with session.get(url) as resp:
            body = await resp.read()
            return url, len(body)


async def main(url, count, limit):
    sem = asyncio.Semaphore(limit)
    connector = aiohttp.TCPConnector(limit=limit)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        tasks = [fetch(session, sem, url) for _ in range(count)]
        total = 0
        for coro in asyncio.as_completed(tasks):
            _, size = await coro
            total += size
        return time.perf_counter() - start, total


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: async_downloader_aiohttp.py URL COUNT LIMIT")
    seconds, total = asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
    print(f"{seconds:.6f} {total}")
