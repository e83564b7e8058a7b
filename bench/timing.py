"""Server times of pages measured in-process, interleaved so every URL sees the same machine load.

Shared by the benches that compare a page with the bare layout page (inventory, usage, audit), and
by bench/fleet.py, which times the VM list while a job runs against the same list idle.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(
    client: Any,
    urls: dict[str, str],
    *,
    warmup: int,
    iterations: int,
    while_true: Callable[[], bool] | None = None,
) -> dict[str, tuple[float, float]]:
    """p50 and p95 (ms) of each URL through `client` (Django's test client, or anything whose `get`
    answers with a `status_code`), requests interleaved; the first `warmup` rounds are not counted. A
    URL that does not answer 200 ends the bench.

    `while_true`: keep going, past `iterations`, for as long as it says so (asked once per round), to
    time pages for the whole of something happening elsewhere."""
    times: dict[str, list[float]] = {name: [] for name in urls}
    iteration = -1
    while True:
        iteration += 1
        if iteration >= warmup + iterations and (while_true is None or not while_true()):
            break
        for name, url in urls.items():
            started = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
            if iteration >= warmup:
                times[name].append(elapsed)
    return {name: (statistics.median(samples), percentile(samples, 0.95)) for name, samples in times.items()}
