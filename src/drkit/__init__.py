"""drkit: declarative disaster recovery for service registries (etcd first)."""

__version__ = "0.1.0"
