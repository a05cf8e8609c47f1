"""Many runs of the member, leader and partition drills on one lab: the issue's proof that no acknowledged
write is lost, run by hand (not in CI). Each kind goes through the real console script with --runs N and
prints its RTO/RPO spread and lost-write total; the figures belong in docs/runbooks/failover.md.

    flock /tmp/drkit-live.lock .venv/bin/python benchmarks/drills.py [--runs 20] [--kinds member,leader,partition]
        [--keep DIR]

Starts its own lab in a temporary state dir (namespaces when possible, which the partition drill needs),
writes reports and measured constants there too, and takes the lab down at the end. With --keep DIR the lab's
state (its logs), the reports and each kind's JSON summary stay in DIR, to look into a failed run; without it
they are removed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DRKIT = Path(sys.executable).with_name("drkit")


def drill(kind: str, runs: int, work: Path, base_port: int) -> dict[str, object]:
    command = [
        str(DRKIT), "drill", kind, "--runs", str(runs), "--format", "json", "--state-dir", str(work / "lab"),
        "--base-port", str(base_port), "--reports-dir", str(work / "reports"), "--measured-dir", str(work / "measured"),
    ]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    (work / f"{kind}.stderr.log").write_text(result.stderr, encoding="utf-8")  # kept first: a stopped drill's why
    if not result.stdout.strip():
        raise SystemExit(f"drill {kind} stopped (exit {result.returncode}): {result.stderr[-2000:]}")
    (work / f"{kind}.json").write_text(result.stdout, encoding="utf-8")
    summary: dict[str, object] = json.loads(result.stdout)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--kinds", default="member,leader,partition")
    parser.add_argument("--base-port", type=int, default=28600)
    parser.add_argument("--keep", type=Path, help="keep the lab's state, the reports and the summaries here")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    work = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="drkit-bench-drills-"))
    try:
        print(
            f"{'kind':<10}{'runs':>5}{'passed':>8}  {'RTO min/median/p95/max (s)':<30}"
            f"{'RPO min/median/p95/max (s)':<30}{'lost':>6}",
            flush=True,
        )
        for kind in args.kinds.split(","):
            summary = drill(kind, args.runs, work, args.base_port)
            runs = summary["runs"]
            assert isinstance(runs, list)
            rto, rpo = summary["rto"], summary["rpo"]
            assert isinstance(rto, dict) and isinstance(rpo, dict)
            spread = "/".join(f"{rto[key]:.2f}" for key in ("min", "median", "p95", "max"))
            rpos = "/".join(f"{rpo[key]:.2f}" for key in ("min", "median", "p95", "max"))
            passed = sum(1 for run in runs if run["passed"])
            print(
                f"{kind:<10}{len(runs):>5}{passed:>8}  {spread:<30}{rpos:<30}{summary['lostAcknowledgedWrites']:>6}",
                flush=True,
            )
            for why in summary["reasons"]:  # type: ignore[attr-defined]
                print(f"    {why}")
    finally:
        subprocess.run([str(DRKIT), "sandbox", "down", "--state-dir", str(work / "lab")], cwd=ROOT, check=False)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
