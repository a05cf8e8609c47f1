"""DR312: RPO of az disruptions within the objective."""

from drkit.policy.objectives import objective_rule

RULE = objective_rule("DR312", "az", "rpo")
