"""timeline.png of one drill run: writes per 100 ms acknowledged and failed, each write's latency, and the
fault and recovery markers. matplotlib's Agg backend: files only, no display needed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import matplotlib

from drkit.drill.result import DrillRun

BIN = 0.1  # seconds


def render_timeline(run: DrillRun, path: Path, title: str) -> Path:
    # Imported here, after the backend is chosen, and only by drills that draw (the CLI stays quick to start).
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    acked = Counter(int(at / BIN) for at, _, ok in run.timeline if ok)
    failed = Counter(int(at / BIN) for at, _, ok in run.timeline if not ok)
    last = max([*acked, *failed, 0]) + 1
    bins = [index * BIN for index in range(last)]
    figure, (writes, latency) = plt.subplots(2, 1, figsize=(10, 5.5), sharex=True, height_ratios=(3, 2))
    writes.bar(bins, [acked[i] for i in range(last)], width=BIN, align="edge", color="tab:green", label="acknowledged")
    writes.bar(
        bins,
        [failed[i] for i in range(last)],
        width=BIN,
        align="edge",
        bottom=[acked[i] for i in range(last)],
        color="tab:red",
        label="failed",
    )
    writes.set_ylabel("writes / 100 ms")
    writes.set_title(title, fontsize=10)
    points = [(at, seconds * 1000) for at, seconds, ok in run.timeline if ok]
    failures = [(at, seconds * 1000) for at, seconds, ok in run.timeline if not ok]
    if points:
        latency.scatter(*zip(*points, strict=True), s=4, color="tab:green", label="acknowledged")
    if failures:
        latency.scatter(*zip(*failures, strict=True), s=4, color="tab:red", marker="x", label="failed")
    latency.set_yscale("log")
    latency.set_ylabel("latency (ms)")
    latency.set_xlabel(f"seconds since the workload started; serving afterwards: {run.serving_region}")
    for axis in (writes, latency):
        for marker in run.markers:
            axis.axvline(marker.at, color="tab:blue", linestyle="--", linewidth=0.8)
    for marker in run.markers:
        writes.annotate(
            marker.label, (marker.at, 1), xycoords=("data", "axes fraction"), rotation=90, va="top", fontsize=7
        )
    writes.legend(loc="lower right", fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
