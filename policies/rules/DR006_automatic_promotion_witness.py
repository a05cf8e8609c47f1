"""DR006: automatic promotion has a witness."""

from collections.abc import Iterator

from drkit.policy import Finding, RuleContext, rule


@rule(
    id="DR006",
    name="Ensure automatic promotion asks a witness in a third place",
    category="availability",
    severity="critical",
    remediation=(
        "Add recovery.witness (placement region or cluster on a cloud stack, lab on the lab), or set"
        " recovery.promotion: manual."
    ),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """Two regions cannot tell a dead primary from a cut link between them: a standby that promotes itself on
    its own judgement makes two primaries the first time the link fails (split brain). Automatic promotion is
    safe only when a witness in a third place decides who holds the primary's lease (Patroni refuses
    cross-site automatic failover with fewer than three sites for the same reason)."""
    recovery = ctx.spec.recovery
    if recovery.promotion == "automatic" and recovery.witness is None and ctx.spec.standbys:
        yield Finding(
            "recovery.promotion is automatic but there is no recovery.witness: with two regions a cut link looks"
            " like a dead primary, and the standby would promote beside a live one",
            ("recovery", "promotion"),
        )
