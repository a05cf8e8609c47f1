"""`drkit sandbox status` as text: the automatic-promotion lines (the rest is exercised by the live lab)."""

from __future__ import annotations

import time
from typing import Any

from drkit.sandbox.status_table import render_status


def _report(guards: dict[str, Any]) -> dict[str, Any]:
    return {
        "stack": "local",
        "stateDir": "/tmp/lab",
        "supervisord": "RUNNING",
        "regions": [],
        "mirrors": [],
        "endpoint": {"url": "http://127.0.0.1:1", "answers": True, "servingRegions": ["lab-east"]},
        "backupTargets": [{"name": "lab-rsync", "type": "rsync", "url": "rsync://127.0.0.1:2/", "reachable": True}],
        "network": {"mode": "loopback"},
        "guards": guards,
    }


def test_guards_off_say_how_to_turn_them_on() -> None:
    assert "automatic promotion: off (`drkit sandbox guards start`)" in render_status(_report({"enabled": False}))


def test_guards_on_show_the_holder_ttl_epoch_and_each_decision_with_its_time() -> None:
    at = 1_800_000_000.0
    text = render_status(
        _report(
            {
                "enabled": True,
                "paused": True,
                "witness": "http://127.0.0.1:23805",
                "holderRegion": "lab-east",
                "ttlLeft": 4,
                "epoch": 3,
                "running": {"lab-east": "RUNNING", "lab-west": "STOPPED"},
                "decisions": {"lab-east": {"decision": "primary: lease renewed", "at": at}, "lab-west": None},
            }
        )
    )
    assert (
        "automatic promotion: paused (no promotion); witness http://127.0.0.1:23805: key held by lab-east"
        " (4s left); epoch 3"
    ) in text
    clock = time.strftime("%H:%M:%S", time.localtime(at))
    assert f"  guard lab-east RUNNING: primary: lease renewed (at {clock})" in text
    assert "  guard lab-west STOPPED: no decision yet" in text
