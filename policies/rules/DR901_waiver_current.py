"""DR901: waivers are current."""

from collections.abc import Iterator

from drkit.policy import Finding, RuleContext, rule


@rule(
    id="DR901",
    name="Ensure every waiver is current (not past its expiry date)",
    category="governance",
    severity="high",
    remediation="Fix what the waiver set aside, or renew it with a new expiry and a reason a reviewer accepts.",
    waivable=False,
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """A waiver sets a rule aside for one stack until its expiry date. After that date the waiver no longer
    silences its rule, and this rule fails so the decision is looked at again. It cannot itself be waived."""
    for waiver in ctx.spec.waivers:
        if waiver.expires < ctx.today:
            yield Finding(
                f"the waiver of {waiver.rule} expired on {waiver.expires.isoformat()}",
                ("waivers", waiver.index, "expires"),
            )
