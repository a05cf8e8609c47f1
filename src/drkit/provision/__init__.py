"""The Pulumi program: the DR spec built on AWS as components, one module each.

RegistryCluster (a region's etcd cluster), BackupVault (snapshot bucket and its replicas), StandbyReplicator
(make-mirror into a standby region) and GlobalEndpoint (Route 53 failover or Global Accelerator), wired by
`topology.build`. `entry` is what `pulumi up` runs; `offline` runs the same build under Pulumi's mocks for
`drkit plan` and the tests. The resource-level DR rules both `drkit plan` and the CrossGuard pack in
policies/pulumi/ apply are policies/rules/DR4xx (scope resources), run by drkit.policy.resources.
"""
