"""TLS for peer and client links: one CA per stack, a certificate per member and per mirror, from pulumi-tls.

Every private key is a secret twice over: pulumi-tls marks it, and drkit lists it in
additional_secret_outputs so the state, `drkit plan` and the policy pack (DR406) see it as secret even
where a provider schema would not say so.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_tls as tls

# Whatever resource carries key material, these properties hold it.
PRIVATE_KEY_OUTPUTS = ["privateKeyPem", "privateKeyOpenssh", "privateKeyPemPkcs8"]
_VALIDITY_HOURS = 5 * 365 * 24
_CA_VALIDITY_HOURS = 10 * 365 * 24
# Renew a year early: `pulumi up` then reissues the certificate well before it lapses.
_EARLY_RENEWAL_HOURS = 365 * 24


def secret(value: pulumi.Output[str]) -> pulumi.Output[str]:
    """`value` marked secret (Output.secret's own signature defeats mypy's inference)."""
    return cast("pulumi.Output[str]", pulumi.Output.secret(cast(Any, value)))


@dataclass(frozen=True)
class CertificateAuthority:
    key: tls.PrivateKey
    cert: tls.SelfSignedCert


@dataclass(frozen=True)
class IssuedCertificate:
    key: tls.PrivateKey
    cert: tls.LocallySignedCert

    @property
    def key_pem(self) -> pulumi.Output[str]:
        return secret(self.key.private_key_pem)


def bundle(ca: CertificateAuthority, issued: IssuedCertificate) -> pulumi.Output[str]:
    """The CA, the certificate and its key as the one JSON document a member fetches at boot, as a secret."""
    return secret(
        pulumi.Output.all(ca=ca.cert.cert_pem, cert=issued.cert.cert_pem, key=issued.key_pem).apply(
            lambda parts: json.dumps({"ca": parts["ca"], "cert": parts["cert"], "key": parts["key"]})
        )
    )


def private_key(name: str, parent: pulumi.Resource | None) -> tls.PrivateKey:
    return tls.PrivateKey(
        name,
        algorithm="ECDSA",
        ecdsa_curve="P256",
        opts=pulumi.ResourceOptions(parent=parent, additional_secret_outputs=PRIVATE_KEY_OUTPUTS),
    )


def certificate_authority(stack: str) -> CertificateAuthority:
    key = private_key(f"{stack}-ca-key", None)
    cert = tls.SelfSignedCert(
        f"{stack}-ca",
        private_key_pem=secret(key.private_key_pem),
        is_ca_certificate=True,
        subject={"common_name": f"drkit {stack} registry CA", "organization": "drkit"},
        validity_period_hours=_CA_VALIDITY_HOURS,
        early_renewal_hours=_EARLY_RENEWAL_HOURS,
        allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
        opts=pulumi.ResourceOptions(additional_secret_outputs=["privateKeyPem"]),
    )
    return CertificateAuthority(key, cert)


def issue(
    name: str,
    ca: CertificateAuthority,
    common_name: str,
    *,
    dns_names: Sequence[pulumi.Input[str]] = (),
    ip_addresses: Sequence[str] = (),
    server: bool,
    parent: pulumi.Resource,
) -> IssuedCertificate:
    """A key and a CA-signed certificate: server+client auth for members, client auth only for mirrors."""
    key = private_key(f"{name}-key", parent)
    request = tls.CertRequest(
        f"{name}-csr",
        private_key_pem=secret(key.private_key_pem),
        subject={"common_name": common_name, "organization": "drkit"},
        dns_names=list(dns_names),
        ip_addresses=list(ip_addresses),
        opts=pulumi.ResourceOptions(parent=parent, additional_secret_outputs=["privateKeyPem"]),
    )
    usages = ["digital_signature", "key_encipherment", "client_auth"] + (["server_auth"] if server else [])
    cert = tls.LocallySignedCert(
        f"{name}-cert",
        cert_request_pem=request.cert_request_pem,
        ca_private_key_pem=secret(ca.key.private_key_pem),
        ca_cert_pem=ca.cert.cert_pem,
        validity_period_hours=_VALIDITY_HOURS,
        early_renewal_hours=_EARLY_RENEWAL_HOURS,
        allowed_uses=usages,
        opts=pulumi.ResourceOptions(parent=parent, additional_secret_outputs=["caPrivateKeyPem"]),
    )
    return IssuedCertificate(key, cert)
