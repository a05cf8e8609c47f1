"""The lab's backup schedule: the timer a cloud member has, for members that are processes on one machine.

On a cloud host a systemd timer fires drkit-scheduled-backup on every member at the spec's cron times
(drkit.operate.schedule); the leader of the primary region backs up, the others say why not. The lab has no
systemd to lend, so this process (a supervisor program, on request: `drkit sandbox schedule start`) fires the
very same script for every member of the region currently primary, at the same cron times, or every
--every seconds for tests and drills that cannot wait for a quarter hour. It re-reads the lab's roles at each
tick, so after a failover the new primary's leader is the one that backs up.

    python -m drkit.sandbox.scheduler --state-dir DIR [--every SECONDS]
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from drkit.operate.schedule import next_fire
from drkit.sandbox.lab import Lab
from drkit.sandbox.paths import LabPaths
from drkit.sandbox.plan import LabPlan

SCRIPT = Path(__file__).resolve().parents[3] / "playbooks" / "roles" / "drkit_backup_schedule" / "files"
SCRIPT_NAME = "drkit-scheduled-backup"

_stopping = False


def _stop(_signum: int, _frame: FrameType | None) -> None:
    global _stopping
    _stopping = True


def schedule_dir(paths: LabPaths) -> Path:
    return paths.root / "schedule"


def job_command(plan: LabPlan, paths: LabPaths, member_name: str) -> list[str]:
    """drkit-scheduled-backup for one lab member, as the member's timer would run it."""
    member = next(m for m in plan.members if m.name == member_name)
    region = next(r for r in plan.regions if member in r.members)
    bin_dir = Path(sys.executable).parent
    return [
        sys.executable,
        str(SCRIPT / SCRIPT_NAME),
        f"--url={member.client_url}",
        f"--region={region.name}",
        f"--boot-role={'primary' if region.role == 'primary' else 'standby'}",
        f"--inventory={paths.inventory}",
        f"--playbooks={SCRIPT.parents[2]}",
        f"--ansible-playbook={bin_dir / 'ansible-playbook'}",
        f"--etcdctl={paths.member_bin(member.name) / 'etcdctl'}",
        f"--state={schedule_dir(paths) / f'{member.name}.json'}",
    ]


def tick(lab: Lab) -> list[dict[str, Any]]:
    """Fire the job on every member of the primary region, one after another (as timers that fire together
    on separate hosts would, minus the overlap): returns each member's recorded outcome."""
    outcomes = []
    for member in lab.plan.primary.members:
        command = job_command(lab.plan, lab.paths, member.name)
        subprocess.run(command, check=False, timeout=3600)
        state = schedule_dir(lab.paths) / f"{member.name}.json"
        try:
            outcomes.append({"member": member.name, **json.loads(state.read_text())})
        except (OSError, ValueError):
            outcomes.append({"member": member.name, "outcome": "no record"})
    return outcomes


def next_tick(schedule: str, every: float | None, now: datetime) -> datetime:
    return now + timedelta(seconds=every) if every else next_fire(schedule, now)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="drkit-lab-scheduler", description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--every", type=float, default=None, help="Seconds between ticks instead of the cron.")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    lab = Lab.existing(args.state_dir)
    schedule = lab.plan.backup_schedule
    if not schedule and not args.every:
        print("the stack's spec has no backups.schedule: nothing to schedule", file=sys.stderr, flush=True)
        return 2
    directory = schedule_dir(lab.paths)
    directory.mkdir(exist_ok=True)
    if args.every is None:  # `drkit sandbox schedule start --every` leaves it here
        try:
            args.every = json.loads((directory / "enabled").read_text()).get("every")
        except (OSError, ValueError):
            args.every = None
    due = next_tick(schedule, args.every, datetime.now(UTC))
    while not _stopping:
        (directory / "next.json").write_text(json.dumps({"next": due.isoformat(), "every": args.every}))
        while not _stopping and datetime.now(UTC) < due:
            time.sleep(min(1.0, max(0.0, (due - datetime.now(UTC)).total_seconds())))
        if _stopping:
            break
        lab = Lab.existing(args.state_dir)  # roles change with failovers: fire on today's primary
        for outcome in tick(lab):
            print(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {outcome['member']}: {outcome.get('outcome')}", flush=True)
        # The next cron time after this tick ended: a backup longer than the interval skips, never stacks.
        due = next_tick(schedule, args.every, max(datetime.now(UTC), due))
    return 0


if __name__ == "__main__":
    sys.exit(main())
