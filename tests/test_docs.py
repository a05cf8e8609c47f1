"""The generated docs match the policies, and the docs the README promises exist."""

from __future__ import annotations

from drkit import docgen
from drkit.policy.catalog import PolicySet
from tests.conftest import ROOT


def test_policy_index_is_current(policies: PolicySet) -> None:
    assert (ROOT / "docs" / "policy-index.md").read_text(encoding="utf-8") == docgen.policy_index(policies), (
        "run `make docs`"
    )


def test_spec_keys_are_current(policies: PolicySet) -> None:
    assert (ROOT / "docs" / "spec-keys.md").read_text(encoding="utf-8") == docgen.spec_reference(policies), (
        "run `make docs`"
    )


def test_every_rule_and_every_spec_key_is_documented(policies: PolicySet) -> None:
    index = docgen.policy_index(policies)
    for rule in policies.rules:
        assert f"## {rule.id}" in index and rule.name in index
    keys = docgen.spec_reference(policies)
    for key in (
        "registry.ephemeralPrefixes",
        "globalEndpoint.healthCheck.failureThreshold",
        "recovery.promotion",
        "s3.objectLock",
        "gcs.retentionPolicy",
        "regions[].zones",
        "rsync.module",
        "waivers[].expires",
    ):
        assert f"`{key}`" in keys


def test_docs_the_readme_links_exist() -> None:
    for name in (
        "spec-reference.md",
        "spec-keys.md",
        "policy-index.md",
        "ci.md",
        "architecture.md",
        "sandbox.md",
        "provisioning.md",
        "topology.md",
    ):
        assert (ROOT / "docs" / name).is_file(), name
