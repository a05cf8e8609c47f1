"""How long `drkit validate` takes over 100 stacks, against a bare floor measured in the same run.

Target (issue: the CI gate): 100 stacks in under a second, end to end.

The floor is what no validator can avoid: starting the same Python interpreter and parsing the same 100
YAML files with the same YAML library. The ratio says what drkit's schema, rules and report cost on top,
and stays comparable on a noisy machine where absolute seconds do not.

    .venv/bin/python benchmarks/validate_stacks.py [--stacks 100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DRKIT = Path(sys.executable).with_name("drkit")
FLOOR = "import sys, yaml\nfor path in sys.argv[1:]:\n    yaml.compose(open(path), Loader=yaml.CSafeLoader)\n"


def make_stacks(directory: Path, count: int) -> list[Path]:
    """`count` stack files: copies of the committed stacks under new names."""
    sources = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))
    paths = []
    for index in range(count):
        source = sources[index % len(sources)]
        target = directory / f"Pulumi.bench{index:03d}-{source.name.split('.')[1]}.yaml"
        shutil.copyfile(source, target)
        paths.append(target)
    return paths


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0,):
        raise SystemExit(f"{command[0]} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stacks", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="drkit-bench-") as tmp:
        paths = make_stacks(Path(tmp), args.stacks)
        files = [str(path) for path in paths]
        drkit_runs, floor_runs = [], []
        for _ in range(args.repeat):  # interleaved, so drift on a noisy machine hits both alike
            drkit_runs.append(timed([str(DRKIT), "validate", tmp]))
            floor_runs.append(timed([sys.executable, "-c", FLOOR, *files]))
    drkit_median, floor_median = statistics.median(drkit_runs), statistics.median(floor_runs)
    print(f"stacks: {args.stacks}, runs: {args.repeat} (median)")
    print(f"floor  (python + yaml parse of every file): {floor_median:.3f}s")
    print(f"drkit validate (schema, rules, estimates, report): {drkit_median:.3f}s")
    print(f"ratio drkit / floor: {drkit_median / floor_median:.2f}x")
    verdict = "met" if drkit_median < 1.0 else "NOT met"
    print(f"target: {args.stacks} stacks under 1s end to end: {verdict}")


if __name__ == "__main__":
    main()
