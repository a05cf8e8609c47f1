"""DR302: RTO of az disruptions within the objective."""

from drkit.policy.objectives import objective_rule

RULE = objective_rule("DR302", "az", "rto")
