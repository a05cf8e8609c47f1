"""What `drkit restore` prints from the playbook's report: a restore that stopped part-way never reads as
done (found when a member could not start after the restore: the CLI printed "restored ..." and a
traceback)."""

from __future__ import annotations

from drkit.cli.restore import render_restore

PLANNED = {
    "snapshot": "local-lab-east-20261207T114427Z",
    "revision": 120,
    "key_count": 40,
    "taken_at": "2026-12-07T11:44:27Z",
    "members": ["lab-east-1", "lab-east-2", "lab-east-3"],
    "source": "lab-s3",
    "dry_run": False,
}


def test_a_restore_that_stopped_part_way_says_so_and_how_to_resume() -> None:
    text = render_restore({**PLANNED, "moved_aside": ["/data/lab-east-1.before-restore"]}, None)
    assert "did NOT finish" in text and "Re-run the same command to resume" in text
    assert "previous data kept at /data/lab-east-1.before-restore" in text
    assert "restored lab-east-1" not in text


def test_a_finished_restore_reports_its_down_time() -> None:
    text = render_restore({**PLANNED, "seconds_down": 4.2, "token": "drkit-abc"}, None)
    assert text.startswith("restored lab-east-1, lab-east-2, lab-east-3 from local-lab-east-20261207T114427Z")
    assert "down for 4.2s (stop to healthy); new cluster token drkit-abc" in text
