"""The same open-loop load as bench/pipeline/gate_load.py, offered to the synchronous HTTP server.

Each gate sends its checks on the same schedule, one connection per request (the server answers one at a
time, in the order they connect); a check whose answer has not come within the timeout counts as shed,
the nearest thing the synchronous server has to the pipeline's deadline.
"""

from __future__ import annotations

import asyncio
import resource
import time

from pipeline.arrivals import Arrivals, send_times
from pipeline.gate_load import LoadResult


async def post(host: str, port: int, path: str, body: bytes) -> int:
    """One HTTP/1.0 POST on a connection of its own; the status code. Plain asyncio streams: an HTTP
    client library costs more CPU per request than the answer is worth measuring against."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        head = f"POST {path} HTTP/1.0\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
        response = await reader.read()  # HTTP/1.0: the server closes when it has answered
    finally:
        writer.close()
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/") else 0


async def run_http_gates(
    host: str,
    port: int,
    jpeg: bytes,
    *,
    gates: int,
    rate_per_s: float,
    duration_s: float,
    timeout_s: float = 2.0,
    arrivals: Arrivals = "even",
) -> LoadResult:
    result = LoadResult(offered_per_s=rate_per_s, duration_s=duration_s)
    schedule = send_times(gates, rate_per_s, duration_s, arrivals)
    loop = asyncio.get_running_loop()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)

    async def one() -> None:
        started = time.perf_counter()
        try:
            status = await asyncio.wait_for(post(host, port, "/check", jpeg), timeout_s)
        except TimeoutError:
            result.shed += 1
            return
        except OSError:
            result.unanswered += 1
            return
        if status == 200:
            now = time.perf_counter()
            result.latencies_ms.append((now - started) * 1000)
            result.span_s = max(result.span_s, now - first_send)
        else:
            result.rejected += 1

    async def gate(times: list[float]) -> None:
        tasks = []
        for at in times:
            delay = start + at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
            result.sent += 1
        await asyncio.gather(*tasks)

    start = loop.time()
    first_send = time.perf_counter()
    await asyncio.gather(*(gate(times) for times in schedule))
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    result.cpu_s = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return result
