"""CPU accounting for benchmarks: which process spent the machine's cores, read from /proc (Linux).

Submit-to-stage latencies mix queueing with work; CPU seconds per worker process say where the time
actually goes, and the machine-wide busy time minus the pipeline's own share shows how much of the
machine other jobs (or the broker) took during the measurement.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of one live process; None when it is gone or /proc is absent."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # the command name may contain spaces
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (fields 14 and 15)


@dataclass(frozen=True)
class MachineCpu:
    busy_s: float
    total_s: float

    @classmethod
    def now(cls) -> MachineCpu | None:
        try:
            with open("/proc/stat", encoding="ascii") as fh:
                values = [int(v) for v in fh.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
        return cls((sum(values[:8]) - idle) / _TICK, sum(values[:8]) / _TICK)


def cpu_report(before: Mapping[str, float | None], after: Mapping[str, float | None],
               m0: MachineCpu | None, m1: MachineCpu | None, own_s: float) -> dict[str, object]:
    """Per-group CPU seconds (groups: stage names; a process `ocr-1` counts for `ocr`), the machine's
    busy seconds over the same interval, and what nobody in the pipeline accounts for."""
    per: dict[str, float] = {}
    for name, end in after.items():
        start = before.get(name)
        if start is None or end is None or end < start:
            continue  # restarted or gone mid-run: its CPU is not attributable
        group = name.rsplit("-", 1)[0] if name.rsplit("-", 1)[-1].isdigit() else name
        per[group] = per.get(group, 0.0) + end - start
    pipeline = sum(per.values()) + own_s
    out: dict[str, object] = {"per_stage_s": {k: round(v, 2) for k, v in sorted(per.items())},
                              "bench_process_s": round(own_s, 2), "pipeline_s": round(pipeline, 2)}
    if m0 is not None and m1 is not None:
        busy = m1.busy_s - m0.busy_s
        out["machine_busy_s"] = round(busy, 2)
        out["machine_capacity_s"] = round(m1.total_s - m0.total_s, 2)
        out["other_s"] = round(busy - pipeline, 2)  # the broker, the OS and any other job
        out["share"] = {k: round(v / busy, 3) for k, v in sorted(per.items())} if busy > 0 else {}
    return out
