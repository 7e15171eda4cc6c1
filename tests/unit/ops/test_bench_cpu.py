"""CPU accounting of the end-to-end benchmark: /proc readings and their attribution to stages."""

from __future__ import annotations

import os
import time

import pytest

from pipeline.bench.cpu import MachineCpu, cpu_report, process_cpu_s

linux = pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc")


@linux
def test_process_cpu_grows_with_work_and_is_none_for_a_gone_process() -> None:
    before = process_cpu_s(os.getpid())
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    after = process_cpu_s(os.getpid())
    assert before is not None and after is not None and after - before >= 0.2
    assert process_cpu_s(2**22 + 12345) is None
    m = MachineCpu.now()
    assert m is not None and 0 < m.busy_s <= m.total_s


def test_report_groups_replicas_by_stage_and_skips_restarted_processes() -> None:
    before = {"ocr-0": 1.0, "ocr-1": 2.0, "extract-0": 10.0, "gate-0": 5.0, "erp-sql": 0.5}
    after = {"ocr-0": 3.0, "ocr-1": 3.0, "extract-0": 40.0, "gate-0": 1.0, "erp-sql": 1.5}  # gate restarted
    rep = cpu_report(before, after, MachineCpu(100.0, 400.0), MachineCpu(150.0, 500.0), own_s=2.0)
    assert rep["per_stage_s"] == {"erp-sql": 1.0, "extract": 30.0, "ocr": 3.0}
    assert rep["pipeline_s"] == 36.0 and rep["machine_busy_s"] == 50.0 and rep["other_s"] == 14.0
    assert rep["share"] == {"erp-sql": 0.02, "extract": 0.6, "ocr": 0.06}
