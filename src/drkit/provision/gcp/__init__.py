"""The GCP side of the Pulumi program (pulumi-gcp): the components that mirror the AWS ones behind the same
interfaces, so `topology.build` wires a region by its provider and one spec may span both clouds.

GcpRegistryCluster (a region's etcd cluster on GCE over >= 3 zones, internal TCP load balancer, firewall
rules), GcsBackupVault (a GCS bucket with a retention policy, locked on request) and the GCP targets of the
global endpoint (the internal load balancer's address, health-checked through an external health listener).
"""
