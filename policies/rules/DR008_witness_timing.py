"""DR008: the primary notices a lost lease before a standby may promote (Patroni's timing constraint)."""

from collections.abc import Iterator

from drkit import lease_timing
from drkit.policy import Finding, RuleContext, rule
from drkit.spec.units import format_duration as fmt


@rule(
    id="DR008",
    name="Ensure witness loopWait + 2 x retryTimeout does not exceed its leaseTtl",
    category="integrity",
    severity="critical",
    remediation=(
        "Lower recovery.witness.loopWait or retryTimeout, or raise leaseTtl, until"
        " loopWait + 2 x retryTimeout <= leaseTtl."
    ),
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """The primary's guard stops its own members once it has gone leaseTtl - 2 x retryTimeout without renewing
    the witness key, so that it is fenced before the lease (renewed at the same moment) expires and a standby
    may promote. It only looks once per loopWait, and a renewal attempt may take retryTimeout to fail: when
    loopWait + 2 x retryTimeout exceeds leaseTtl, the lease can expire while the old primary still takes
    writes, and the standby promotes beside it (two primaries, writes lost). The guards refuse to start with
    such timing; this rule says so before anything is deployed."""
    witness = ctx.spec.recovery.witness
    if witness is None:
        return
    needed = lease_timing.time_needed(witness.loop_wait, witness.retry_timeout)
    if not lease_timing.fits(witness.lease_ttl, witness.loop_wait, witness.retry_timeout):
        yield Finding(
            f"loopWait {fmt(witness.loop_wait)} + 2 x retryTimeout {fmt(witness.retry_timeout)} = {fmt(needed)}"
            f" exceeds leaseTtl {fmt(witness.lease_ttl)}: the primary's guard could still be serving writes when"
            " its lease expires at the witness and a standby promotes (split brain)",
            ("recovery", "witness", "leaseTtl"),
        )
