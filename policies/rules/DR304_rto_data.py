"""DR304: RTO of data disruptions within the objective."""

from drkit.policy.objectives import objective_rule

RULE = objective_rule("DR304", "data", "rto")
