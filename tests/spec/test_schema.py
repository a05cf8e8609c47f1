"""The DR spec schema: valid instances pass, invalid ones are explained at their place, defaults fill in."""

from __future__ import annotations

from typing import Any

import pytest

from drkit.errors import InputError, Location, format_key_path
from drkit.policy.catalog import PolicySet
from tests.conftest import committed_spec, patched


def errors_of(policies: PolicySet, spec: dict[str, Any]) -> list[InputError]:
    def nowhere(path: Any, prefer_key: bool = False) -> Location:
        return Location("spec", 1, 1)

    return policies.spec_schema.errors(spec, nowhere, ("drkit:spec",))


@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "local"])
def test_committed_stacks_are_valid(policies: PolicySet, stack: str) -> None:
    assert errors_of(policies, committed_spec(stack)) == []


MINIMAL = {"tier": "standard", "registry": {"version": "3.5.17"}, "regions": [{"name": "eu-west-1", "role": "primary"}]}

VALID = [
    MINIMAL,
    patched(
        MINIMAL,
        {"backups": {"targets": [{"type": "rsync", "host": "h", "path": "/b", "transport": "daemon", "module": "m"}]}},
    ),
    patched(MINIMAL, {"globalEndpoint": {"type": "global-accelerator"}}),
    patched(MINIMAL, {"objectives": {"data": {"rpo": "1h"}}}),
    patched(MINIMAL, {"regions": [{"name": "europe-west1", "provider": "gcp", "role": "primary", "members": 5}]}),
]


@pytest.mark.parametrize("spec", VALID)
def test_valid_instances(policies: PolicySet, spec: dict[str, Any]) -> None:
    assert errors_of(policies, spec) == []


INVALID = [
    ({"tierr": "standard"}, "drkit:spec.tierr", "unknown key 'tierr'", "did you mean 'tier'?"),
    ({"tier": "critcal"}, "drkit:spec.tier", "expected one of 'critical', 'standard', 'sandbox'", "'critical'"),
    (
        {"registry": {"version": 3.5}},
        "drkit:spec.registry.version",
        'expected a version like "3.5.17" in quotes (major.minor.patch, no leading zeros), got the number 3.5',
        "",
    ),
    ({"registry": {"clientPort": "2379"}}, "drkit:spec.registry.clientPort", "expected an integer", "without quotes"),
    (
        {"globalEndpoint": {"type": "haproxy", "zone": 5}},
        "drkit:spec.globalEndpoint.zone",
        "expected a string",
        'quote it: "5"',
    ),
    ({"registry": {"members": "five"}}, "drkit:spec.registry.members", "expected an integer", ""),
    ({"registry": {"members": "5"}}, "drkit:spec.registry.members", "expected an integer", "without quotes"),
    ({"registry": {"leaseTtl": "30 sec"}}, "drkit:spec.registry.leaseTtl", "a duration like", ""),
    (
        {"backups": {"schedule": "hourly", "targets": [{"type": "s3"}]}},
        "drkit:spec.backups.schedule",
        "five-field cron schedule",
        "",
    ),
    (
        {"backups": {"targets": [{"type": "s3", "objectlock": "30d"}]}},
        "drkit:spec.backups.targets[0].objectlock",
        "unknown key 'objectlock'",
        "did you mean 'objectLock'?",
    ),
    (
        {"backups": {"targets": [{"type": "rsync", "path": "/b"}]}},
        "drkit:spec.backups.targets[0]",
        "missing required key 'host'",
        "",
    ),
    (
        {"regions": [{"name": "a", "role": "standby"}]},
        "drkit:spec.regions",
        "exactly one region with role: primary",
        "",
    ),
    (
        {"regions": [{"name": "a", "role": "primary"}, {"name": "b", "role": "primary"}]},
        "drkit:spec.regions",
        "exactly one region with role: primary",
        "",
    ),
    ({"globalEndpoint": {"type": "route53-failover"}}, "drkit:spec.globalEndpoint", "missing required key 'zone'", ""),
    (
        {"waivers": [{"rule": "DR1", "reason": "long enough reason", "expires": "2027-01-01"}]},
        "drkit:spec.waivers[0].rule",
        "a rule ID like DR101",
        "",
    ),
    (
        {"waivers": [{"rule": "DR101", "reason": "long enough reason", "expires": "2027-13-01"}]},
        "drkit:spec.waivers[0].expires",
        "a date like",
        "",
    ),
    (
        {"recovery": {"witness": {"placement": "region", "region": ["us-east-2"]}}},
        "drkit:spec.recovery.witness.region",
        "unknown key 'region'",
        "did you mean 'regions'?",
    ),
    (
        {"recovery": {"witness": {"placement": "zone"}}},
        "drkit:spec.recovery.witness.placement",
        "expected one of 'region', 'cluster', 'lab'",
        "",
    ),
    ({"recovery": {"witness": {"regions": ["us-east-2"]}}}, "drkit:spec.recovery.witness", "'placement'", ""),
    (
        {"recovery": {"witness": {"placement": "lab", "leaseTtl": "5 sec"}}},
        "drkit:spec.recovery.witness.leaseTtl",
        "a duration like",
        "",
    ),
]


@pytest.mark.parametrize(("patch", "key", "message", "hint"), INVALID, ids=[case[2] for case in INVALID])
def test_invalid_instances_are_explained(
    policies: PolicySet, patch: dict[str, Any], key: str, message: str, hint: str
) -> None:
    found = errors_of(policies, patched(MINIMAL, patch))
    matching = [e for e in found if format_key_path(e.key_path) == key and message in e.message]
    assert matching, [e.render() for e in found]
    assert hint in matching[0].hint


def test_witness_timing_defaults_are_patronis(policies: PolicySet) -> None:
    filled = policies.spec_schema.with_defaults(patched(MINIMAL, {"recovery": {"witness": {"placement": "region"}}}))
    witness = filled["recovery"]["witness"]
    assert (witness["leaseTtl"], witness["loopWait"], witness["retryTimeout"], witness["regions"]) == (
        "30s",
        "10s",
        "10s",
        [],
    )


def test_defaults_are_filled_from_the_schema(policies: PolicySet) -> None:
    spec = patched(
        MINIMAL,
        {
            "backups": {"targets": [{"type": "s3"}, {"type": "rsync", "host": "h", "path": "/b"}]},
            "globalEndpoint": {"type": "haproxy"},
        },
    )
    filled = policies.spec_schema.with_defaults(spec)
    assert filled["registry"]["members"] == 3
    assert filled["registry"]["tls"] is True
    assert filled["registry"]["electionTimeout"] == "1s"
    assert filled["regions"][0]["availabilityZones"] == 3
    assert filled["backups"]["schedule"] == "0 * * * *"
    assert filled["backups"]["retention"] == {"hourly": 24, "daily": 7, "weekly": 4}
    assert filled["backups"]["targets"][0]["objectLockMode"] == "compliance"  # only on s3 targets
    assert "objectLockMode" not in filled["backups"]["targets"][1]
    assert filled["backups"]["targets"][1]["transport"] == "ssh"
    assert filled["globalEndpoint"]["healthCheck"] == {"interval": "10s", "failureThreshold": 3, "path": "/health"}
    assert filled["recovery"]["promotion"] == "manual"
    assert "replication" not in filled  # absent means none; the model says so
    assert spec["registry"] == {"version": "3.5.17"}  # the input is not modified
