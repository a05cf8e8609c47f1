"""Applications' access under Pulumi mocks: a client certificate per registry.clients name in every region's
Secrets Manager, and the clientAccess output with the endpoint, the CA and the secrets (never a key)."""

from __future__ import annotations

import json
from collections.abc import Callable

from drkit.provision.resources import Plan
from drkit.spec.model import Spec
from tests.provision.conftest import PlanFor


def test_each_client_gets_a_client_only_certificate_in_every_region(plan_for: PlanFor) -> None:
    plan = plan_for("prod")
    certs = {r.name: r for r in plan.of_type("tls:index/locallySignedCert:LocallySignedCert")}
    for client in ("orders", "billing"):
        uses = certs[f"client-{client}-cert"].props["allowedUses"]
        assert "client_auth" in uses and "server_auth" not in uses
        holders = [r for r in plan.of_type("aws:secretsmanager/secret:Secret") if r.name.endswith(f"-client-{client}")]
        assert {r.region for r in holders} == {"us-east-1", "us-west-2"}
        assert all(r.props["kmsKeyId"] for r in holders), "encrypted with the region's registry key"


def test_the_client_access_output_names_the_endpoint_ca_and_secrets_but_no_key(plan_for: PlanFor) -> None:
    access = plan_for("prod").outputs["clientAccess"]
    assert access["endpoint"].startswith("https://registry.example.com")
    assert access["caCertificate"].startswith("-----BEGIN CERTIFICATE-----")  # the CA to trust, public
    secrets = access["clientCertificateSecrets"]
    assert set(secrets) == {"orders", "billing"} and set(secrets["orders"]) == {"us-east-1", "us-west-2"}
    assert access["networks"]["us-east-1"]["clientCidrs"] == ["10.60.0.0/16"]
    assert "PRIVATE KEY" not in json.dumps(access, default=str)


def test_no_clients_no_certificates(stack_spec: Callable[..., Spec]) -> None:
    from drkit.provision import offline

    plan: Plan = offline.run_offline(stack_spec("prod", {"registry": {"clients": []}}), "prod")
    assert not [r for r in plan.of_type("aws:secretsmanager/secret:Secret") if "-client-" in r.name]
    assert plan.outputs["clientAccess"]["clientCertificateSecrets"] == {}
