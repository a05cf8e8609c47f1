"""install-drkit.yml: drkit's runtime on a cloud member, installed by a real Ansible run against this host
(a temporary home; drkit's own virtualenv stands in for the one pip would make there, so nothing is
downloaded), then the guard started as the unit cloud-init writes starts it, from that home alone.

The guard's witness and etcd are closed loopback ports here: it must get as far as its first decision (the
package imported from the home, the spec loaded and passed from the shipped project, its arguments taken)
and, its own cluster never having answered, decide there is nothing to guard (no AWS call, no systemctl)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from drkit.cli import main
from drkit.provision import cloud_init
from tests.conftest import ROOT
from tests.provision.test_guard_fence_script import BOOT, _config, _files

CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens, every call is refused at once


def _without_tls(argv: list[str]) -> list[str]:
    kept: list[str] = []
    for part in argv:
        if kept and kept[-1] in ("--cacert", "--cert", "--key"):
            kept.pop()
            continue
        kept.append(part)
    return kept


@pytest.fixture(scope="module")
def installed(prod_outputs: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(home, inventory): the runtime installed by install-drkit.yml for one member of prod."""
    work = tmp_path_factory.mktemp("member")
    inventory = work / "prod.yml"
    written = CliRunner().invoke(
        main, ["inventory", "--stack", "prod", "--from-outputs", str(prod_outputs), "--output", str(inventory)]
    )
    assert written.exit_code == 0, written.output
    member = next(iter(yaml.safe_load(inventory.read_text())["all"]["children"]["registry"]["children"].values()))
    host = next(iter(member["hosts"]))
    home = work / "opt-drkit"
    home.mkdir()
    (home / "venv").symlink_to(Path(sys.prefix))
    extra = {
        "ansible_connection": "local",
        "ansible_become": False,
        "ansible_python_interpreter": sys.executable,
        "drkit_runtime_home": str(home),
        "drkit_runtime_root": str(work / "root"),
        "drkit_runtime_install": False,
        "drkit_runtime_manage_systemd": False,
    }
    command = [
        *(str(Path(sys.prefix) / "bin" / "ansible-playbook"), "-i", str(inventory), "--limit", host),
        *("-e", json.dumps(extra), "install-drkit.yml"),
    ]
    run = subprocess.run(command, cwd=ROOT / "playbooks", capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert re.search(r"ok=\d+\s+changed=[1-9]", run.stdout), run.stdout[-2000:]
    return home, inventory


def test_the_member_gets_the_package_the_project_and_the_inventory(installed: tuple[Path, Path]) -> None:
    home, inventory = installed
    assert (home / "src" / "drkit" / "failover" / "guard_aws.py").is_file()
    assert (home / "playbooks" / "backup.yml").is_file() and (home / "policies").is_dir()
    assert (home / "Pulumi.yaml").is_file() and (home / "constraints.txt").is_file()
    # One environment's spec, not every stack's: a dev member has no business holding prod's.
    assert sorted(path.name for path in (home / "stacks").iterdir()) == ["Pulumi.prod.yaml"]
    assert (home / "inventory.yml").read_bytes() == inventory.read_bytes()
    assert not list(home.rglob("__pycache__")), "caches are not shipped"


def test_the_guard_starts_from_the_installed_runtime_as_its_unit_says(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    home, _ = installed
    guard = cloud_init.GuardBoot(witness_urls=(CLOSED,), ttl=5, loop_wait=1.0, retry_timeout=1.0, members=(CLOSED,))
    files = _files(_config(dataclasses.replace(BOOT, guard=guard)))
    unit = files["/etc/systemd/system/drkit-guard.service"].replace(cloud_init.DRKIT_HOME, str(home))
    env = dict(line.split("=", 1) for line in files[cloud_init.GUARD_ENV].splitlines())
    env.update(DRKIT_LOCAL_URL=CLOSED, DRKIT_GUARD_STATE_DIR=str(tmp_path / "state"))
    exec_start = unit.split("ExecStart=", 1)[1].replace("\\\n", " ").splitlines()[0]
    argv = shlex.split(re.sub(r"\$\{(\w+)\}", lambda match: env[match.group(1)], exec_start))
    argv = _without_tls(argv)  # plain HTTP on loopback: the member's PKI files do not exist here
    python_path = re.search(r"^Environment=PYTHONPATH=(\S+)$", unit, re.MULTILINE)
    assert python_path is not None and python_path.group(1) == str(home / "src")
    working = re.search(r"^WorkingDirectory=(\S+)$", unit, re.MULTILINE)
    assert working is not None and working.group(1) == str(home)
    # No AWS call is expected; should one happen it must go nowhere but a refused loopback port.
    aws = {"AWS_ENDPOINT_URL": CLOSED, "AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "testing"}
    aws |= {"AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    process_env = {"PATH": os.environ["PATH"], "PYTHONPATH": python_path.group(1), **aws}

    where = subprocess.run(
        [argv[0], "-c", "import drkit.failover.guard_aws as g; print(g.__file__)"],
        cwd=home,
        env=process_env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip() == str(home / "src" / "drkit" / "failover" / "guard_aws.py")

    decision_file = tmp_path / "state" / "guards" / f"{BOOT.region}.json"
    process = subprocess.Popen(argv, cwd=home, env=process_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not decision_file.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert process.poll() is None, (process.stdout.read() if process.stdout else b"").decode()[-3000:]
        decision = json.loads(decision_file.read_text())["decision"]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert decision == "unknown (own cluster never answered): nothing to guard"
