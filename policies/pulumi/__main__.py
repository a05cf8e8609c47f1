"""The CrossGuard pack: constructing PolicyPack starts its gRPC server and blocks, so only Pulumi runs this.

Tests exercise drkit.provision.crossguard, which builds the same policies.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from drkit.provision.crossguard import PACK_NAME, stack_policies

PolicyPack(name=PACK_NAME, policies=stack_policies(), enforcement_level=EnforcementLevel.MANDATORY)
