"""DR101: no etcd version with known data-inconsistency bugs."""

from collections.abc import Iterator

from drkit.policy import Finding, RuleContext, rule


@rule(
    id="DR101",
    name="Ensure the etcd version has no known data-inconsistency bug and is a known release",
    category="integrity",
    severity="critical",
    remediation="Use etcd 3.4.22+ on 3.4, 3.5.6+ on 3.5, or a 3.6 release; policies/data/etcd-releases.yaml "
    "lists what drkit knows.",
    judges_upgrade_targets=True,
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """etcd 3.4 below 3.4.22 and 3.5 below 3.5.6 have known data-inconsistency bugs: members can disagree
    about the data after a crash, which no backup or failover repairs. A version drkit does not know (a
    typo, or a release newer than policies/data/etcd-releases.yaml) is flagged too, so it is checked by a
    person before it is run. `drkit upgrade` applies this rule to its target version too, so a waiver
    here (with its reason and expiry) is also what lets an upgrade move to such a release."""
    status, reason = ctx.releases.status(ctx.spec.registry.version)
    if status != "safe":
        yield Finding(reason, ("registry", "version"))
