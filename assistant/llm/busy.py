"""How much of this process's CPUs other processes take: the engine's timings are only as good as the quiet they were
taken in.

On a 2-core machine running three other jobs, the engine timed one layer's int4, int8 and bfloat16 matmuls for a new
token at 0.87, 0.82 and 0.87 ms, all within the plan's 10% margin, so it kept bfloat16 (closest to the reference); with
the CPU free the same layer took 0.43-0.51, 0.49-0.55 and 0.55-0.59 ms, and bfloat16 decoded at 43.6 tokens a second
against int4's 70.4 (AMD EPYC, AVX2; docs/engine.md). int4's short calls wait for a core more than bfloat16's long ones,
so taking the fastest of several runs does not undo it.
"""

from __future__ import annotations

import os
import time
from types import TracebackType

import psutil

BUSY_CORES = 0.5  # other processes taking this many cores or more, on average, make timings suspect


def our_cpus() -> list[int]:
    """The CPUs this process may run on."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows: no affinity to ask
        return list(range(os.cpu_count() or 1))


def busy_seconds(cpus: list[int]) -> float:
    """CPU seconds spent on ``cpus`` by anything but idling since boot (steal included: the hypervisor giving the core
    to another machine; guest time is already counted as user time)."""
    per_cpu = psutil.cpu_times(percpu=True)
    chosen = [per_cpu[i] for i in cpus if i < len(per_cpu)] or per_cpu
    return sum(sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)
               for t in chosen)


class OthersLoad:
    """A block's measure: ``cores``, the cores' worth of CPU time that other processes took on this process's CPUs
    while it ran (this process's own threads, OpenMP's included, do not count)."""

    def __init__(self) -> None:
        self.cores = 0.0

    def __enter__(self) -> OthersLoad:
        self._cpus = our_cpus()
        self._started = (time.perf_counter(), time.process_time(), busy_seconds(self._cpus))
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        wall_started, own_started, busy_started = self._started
        wall = time.perf_counter() - wall_started
        others = busy_seconds(self._cpus) - busy_started - (time.process_time() - own_started)
        self.cores = max(0.0, others / wall) if wall > 0 else 0.0


def cores_taken_by_others(seconds: float = 0.25) -> float:
    """The cores other processes take now, over ``seconds``."""
    with OthersLoad() as load:
        time.sleep(seconds)
    return load.cores
