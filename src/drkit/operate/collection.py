"""drkit.registry, the playbooks' collection, as a library of the drkit package too.

Its module_utils are standard-library only because they ship to managed hosts; the package imports the very
same files (for example the etcd gateway client) so one client serves the modules and the CLI. Outside
pytest the collection is not on sys.path: this puts the checkout's copy there once.
"""

from __future__ import annotations

import sys
from pathlib import Path

# src/drkit/operate/collection.py -> the checkout (the playbooks are not part of a wheel).
COLLECTIONS = Path(__file__).resolve().parents[3] / "playbooks" / "collections"


def make_importable() -> None:
    if str(COLLECTIONS) not in sys.path:
        sys.path.append(str(COLLECTIONS))


make_importable()

# Re-exported for the package: the one etcd gateway client (TLS, paging, batched lease transactions).
from ansible_collections.drkit.registry.plugins.module_utils.etcd_gateway import (  # noqa: E402
    Gateway,
    GatewayError,
    MemberStatus,
    b64,
    prefix_range,
)

__all__ = ["COLLECTIONS", "Gateway", "GatewayError", "MemberStatus", "b64", "make_importable", "prefix_range"]
