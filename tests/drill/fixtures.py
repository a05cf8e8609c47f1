"""Hand-made drill runs for the report, aggregation and calibration tests (no lab)."""

from __future__ import annotations

from typing import Any

from drkit.drill.measure import Registrations
from drkit.drill.result import DrillRun, Marker


def drill_run(**changes: Any) -> DrillRun:
    values: dict[str, Any] = {
        "kind": "region",
        "stack": "local",
        "objective": "region",
        "objective_rto": 120.0,
        "objective_rpo": 5.0,
        "fault": "region lab-east lost",
        "actions": ["SIGKILLed every member of lab-east", "drkit failover --to lab-west"],
        "serving_region": "lab-west",
        "started_utc": "2026-12-07T12:00:00Z",
        "rto_seconds": 3.2,
        "rpo_seconds": 0.4,
        "acked": 300,
        "failed": 40,
        "lost": 2,
        "lost_keys": ["/drill/region/1", "/drill/region/2"],
        "registrations": Registrations(live=4, live_kept=4, dead=2, dead_expired=2),
        "hashes": {"lab-west-1": 11, "lab-west-2": 11, "lab-west-3": 11},
        "split_brain": 0,
        "constants": {"promotionSeconds": 2.5},
        "markers": [Marker(1.5, "lab-east lost"), Marker(4.0, "lab-west promoted")],
        "timeline": [(0.05 * i, 0.004, not 30 <= i < 70) for i in range(120)],
    }
    return DrillRun(**(values | changes))
