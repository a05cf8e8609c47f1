"""DR policy: rules as plain functions over the typed spec (or the resources built from it), tier presets,
waivers and the verdict."""

from drkit.policy.rule import Finding, ResourceContext, Rule, RuleContext, rule

__all__ = ["Finding", "ResourceContext", "Rule", "RuleContext", "rule"]
