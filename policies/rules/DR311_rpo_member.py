"""DR311: RPO of member disruptions within the objective."""

from drkit.policy.objectives import objective_rule

RULE = objective_rule("DR311", "member", "rpo")
