"""The requirements.txt files Pulumi's pip toolchain installs: current with the pins, and where Pulumi looks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from drkit import pins
from tests.conftest import ROOT


@pytest.mark.parametrize("path", sorted(pins.generated(ROOT)), ids=lambda p: str(p.relative_to(ROOT)))
def test_requirements_txt_is_current(path: Path) -> None:
    assert path.read_text(encoding="utf-8") == pins.generated(ROOT)[path], "stale: run `python -m drkit.docgen`"


def test_program_installs_the_checkout_with_every_runtime_pin() -> None:
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    assert "-e ." in lines and "-c constraints.txt" in lines
    pinned = pins.constraints(ROOT)
    requirements = [line for line in lines if "==" in line]
    assert {"pulumi", "pulumi-aws", "pulumi-tls", "pulumi-policy"} <= {line.split("==")[0] for line in requirements}
    # A requirement may name extras (moto[server]==...): the pin is the package's.
    assert all(pinned[line.split("==")[0].split("[")[0].lower()] == line.split("==")[1] for line in requirements)


def test_pulumi_yaml_uses_pip_with_a_virtualenv_beside_requirements_txt() -> None:
    options = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))["runtime"]["options"]
    assert options == {"toolchain": "pip", "virtualenv": ".venv"}
    assert (ROOT / "requirements.txt").is_file()


def test_policy_pack_is_self_contained() -> None:
    pack = ROOT / "policies" / "pulumi"
    options = yaml.safe_load((pack / "PulumiPolicy.yaml").read_text(encoding="utf-8"))["runtime"]["options"]
    # Its environment lives in the pack's directory; its requirements reach drkit by a path from there.
    assert options["toolchain"] == "pip" and not options["virtualenv"].startswith("..")
    lines = (pack / "requirements.txt").read_text(encoding="utf-8").splitlines()
    editable = next(line.removeprefix("-e ") for line in lines if line.startswith("-e "))
    assert (pack / editable / "pyproject.toml").resolve() == (ROOT / "pyproject.toml").resolve()
    constraints = next(line.removeprefix("-c ") for line in lines if line.startswith("-c "))
    assert (pack / constraints).resolve() == (ROOT / "constraints.txt").resolve()


def test_a_pin_that_disagrees_with_constraints_is_refused(tmp_path: Path) -> None:
    shutil.copy(ROOT / "constraints.txt", tmp_path / "constraints.txt")
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8").replace('"click==8.3.1"', '"click==8.0.0"')
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"constraints\.txt has 8\.3\.1 for click"):
        pins.program_requirements(tmp_path)
