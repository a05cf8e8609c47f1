"""DR301: RTO of member disruptions within the objective."""

from drkit.policy.objectives import objective_rule

RULE = objective_rule("DR301", "member", "rto")
