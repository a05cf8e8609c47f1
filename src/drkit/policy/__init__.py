"""DR policy: rules as plain functions over the typed spec, tier presets, waivers and the verdict."""

from drkit.policy.rule import Finding, Rule, RuleContext, rule

__all__ = ["Finding", "Rule", "RuleContext", "rule"]
