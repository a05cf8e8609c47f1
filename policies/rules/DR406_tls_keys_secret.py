"""DR406: TLS private keys exist only as Pulumi secrets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from drkit.policy import Finding, ResourceContext, rule

PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
GCP_SECRET_VERSION = "gcp:secretmanager/secretVersion:SecretVersion"
KEY_OUTPUTS = ("privateKeyPem", "privateKeyOpenssh", "privateKeyPemPkcs8")
_PEM_KEY_MARKER = "PRIVATE KEY-----"


@rule(
    id="DR406",
    scope="resources",
    name="Ensure TLS private keys are held only in properties marked secret",
    category="security",
    severity="critical",
    remediation="List the key properties in additional_secret_outputs (tls.PrivateKey: privateKeyPem, ...; secret"
    " versions: secretString, GCP: secretData), pass keys on with Output.secret, and deliver them through Secrets"
    " Manager or Secret Manager, never in user data or metadata.",
)
def check(ctx: ResourceContext) -> Iterator[Finding]:
    """Pulumi keeps a property encrypted in the state only when it is secret. Every tls PrivateKey lists its
    key properties as secret outputs; every Secrets Manager secret version marks secretString secret (GCP
    Secret Manager: secretData); and no property of any resource holds PEM private-key text unless that
    property is secret (a key pasted into user data or instance metadata would be readable by anyone allowed
    to describe the instance)."""
    for key in ctx.of_type(PRIVATE_KEY):
        missing = [name for name in KEY_OUTPUTS if name not in key.secret_props]
        if missing:
            yield Finding(f"private key {key.name}: {', '.join(missing)} not marked secret", urn=key.urn)
    for version in ctx.of_type(SECRET_VERSION):
        if "secretString" not in version.secret_props:
            yield Finding(f"secret version {version.name}: secretString not marked secret", urn=version.urn)
    for version in ctx.of_type(GCP_SECRET_VERSION):
        if "secretData" not in version.secret_props:
            yield Finding(f"secret version {version.name}: secretData not marked secret", urn=version.urn)
    for resource in ctx.resources:
        for prop, value in resource.props.items():
            if prop not in resource.secret_props and _holds_key(value):
                yield Finding(
                    f"{resource.type} {resource.name}: {prop} holds a private key in plain text", urn=resource.urn
                )


def _holds_key(value: Any) -> bool:
    if isinstance(value, str):
        return _PEM_KEY_MARKER in value
    if isinstance(value, dict):
        return any(_holds_key(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_key(item) for item in value)
    return False
