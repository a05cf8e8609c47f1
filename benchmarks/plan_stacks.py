"""How long `drkit plan --stack prod` takes end to end, against a bare floor measured in the same run.

Target (issue: Pulumi programs): the whole plan of prod in under 10 seconds.

The floor is what no offline plan can avoid: starting the same Python interpreter and importing Pulumi and
the pulumi_aws modules the program uses (pulumi_aws loads each service module lazily, and those imports are
most of the cost). The ratio says what validation, the program under mocks, the rules and the report cost on
top, and stays comparable on a noisy machine where absolute seconds do not.

    .venv/bin/python benchmarks/plan_stacks.py [--stack prod] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DRKIT = Path(sys.executable).with_name("drkit")
# Touching a class forces the lazily imported module to load (its module object alone does not).
FLOOR = (
    "import pulumi, pulumi_tls, pulumi_aws as aws\n"
    "(aws.ec2.Instance, aws.ebs.Volume, aws.vpc.SecurityGroupIngressRule, aws.lb.LoadBalancer, aws.s3.Bucket,\n"
    " aws.iam.Role, aws.kms.Key, aws.cloudwatch.MetricAlarm, aws.route53.HealthCheck, aws.secretsmanager.Secret,\n"
    " aws.globalaccelerator.Accelerator, pulumi_tls.PrivateKey)\n"
)
TARGET_SECONDS = 10.0


def timed(command: list[str], ok: tuple[int, ...] = (0,)) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode not in ok:
        raise SystemExit(f"{command[0]} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    plan_runs, floor_runs = [], []
    for _ in range(args.repeat):  # interleaved, so drift on a noisy machine hits both alike
        plan_runs.append(timed([str(DRKIT), "plan", "--stack", args.stack]))
        floor_runs.append(timed([sys.executable, "-c", FLOOR]))
    plan_median, floor_median = statistics.median(plan_runs), statistics.median(floor_runs)
    print(f"stack: {args.stack}, runs: {args.repeat} (median)")
    print(f"floor  (python + import pulumi, pulumi_tls and the pulumi_aws modules used): {floor_median:.3f}s")
    print(f"drkit plan (validate, program under mocks, rules, report): {plan_median:.3f}s")
    print(f"ratio plan / floor: {plan_median / floor_median:.2f}x")
    verdict = "met" if plan_median < TARGET_SECONDS else "NOT met"
    print(f"target: the whole plan of {args.stack} under {TARGET_SECONDS:.0f}s: {verdict}")


if __name__ == "__main__":
    main()
