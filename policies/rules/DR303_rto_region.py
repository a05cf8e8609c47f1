"""DR303: RTO of region disruptions within the objective."""

from drkit.policy.objectives import objective_rule

RULE = objective_rule("DR303", "region", "rto")
