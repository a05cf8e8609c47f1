"""DR314: RPO of data disruptions within the objective."""

from drkit.policy.objectives import objective_rule

RULE = objective_rule("DR314", "data", "rpo")
