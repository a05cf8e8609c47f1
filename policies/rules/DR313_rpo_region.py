"""DR313: RPO of region disruptions within the objective."""

from drkit.policy.objectives import objective_rule

RULE = objective_rule("DR313", "region", "rpo")
