"""Pulumi.yaml is a valid Pulumi project file that keeps its stacks in stacks/."""

from __future__ import annotations

import json

import pytest
import yaml
from jsonschema import Draft202012Validator

from tests.conftest import ROOT

# The official project-file schema sits beside the checkout in the team's workspace (../shared); a user's
# clone has no such directory, so there the schema check is skipped and the shape checks still run.
SHARED_SCHEMA = ROOT.parent / "shared" / "reference" / "pulumi-project.schema.json"


def project() -> dict[str, object]:
    return yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))


def test_project_names_drkit_python_and_stacks_dir() -> None:
    data = project()
    assert data["name"] == "drkit"
    runtime = data["runtime"]
    assert (runtime["name"] if isinstance(runtime, dict) else runtime) == "python"
    assert data["stackConfigDir"] == "stacks"
    assert sorted(path.name for path in (ROOT / "stacks").glob("Pulumi.*.yaml")) == [
        "Pulumi.dev.yaml",
        "Pulumi.hybrid.yaml",
        "Pulumi.local.yaml",
        "Pulumi.prod.yaml",
        "Pulumi.staging.yaml",
    ]


@pytest.mark.skipif(not SHARED_SCHEMA.exists(), reason="../shared/reference is only in the team workspace")
def test_project_file_is_valid_against_the_official_schema() -> None:
    schema = json.loads(SHARED_SCHEMA.read_text(encoding="utf-8"))
    errors = sorted(Draft202012Validator(schema).iter_errors(project()), key=str)
    assert not errors, [error.message for error in errors]
