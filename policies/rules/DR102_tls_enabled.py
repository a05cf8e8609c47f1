"""DR102: TLS on."""

from collections.abc import Iterator

from drkit.policy import Finding, RuleContext, rule


@rule(
    id="DR102",
    name="Ensure TLS protects the registry's peer and client links",
    category="security",
    severity="high",
    remediation="Set registry.tls: true (advisory only in the sandbox tier).",
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """Without TLS anyone on the network can read every registration and rewrite the registry. Only the
    sandbox tier (the local lab on loopback) may leave it off."""
    if not ctx.spec.registry.tls:
        yield Finding("registry.tls is false: peer and client traffic is plain text", ("registry", "tls"))
