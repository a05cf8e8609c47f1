"""Resources as plain data: what the rules read, whether they came from Pulumi mocks (`drkit plan`) or from
the engine (the CrossGuard pack). Property names are the engine's (camelCase), as both sources give them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from drkit.provision import tags


@dataclass(frozen=True)
class PlannedResource:
    urn: str
    type: str  # the Pulumi type token, e.g. aws:ec2/instance:Instance
    name: str
    props: Mapping[str, Any]
    region: str | None = None  # from the resource's provider; None for tls and components
    secret_props: frozenset[str] = frozenset()  # additionalSecretOutputs, plus inputs that arrived as secrets
    parent: str | None = None
    # protect, retainOnDelete, ignoreChanges as the program set them (empty when the source cannot tell)
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tags(self) -> Mapping[str, str]:
        """AWS tags, or a GCP resource's labels read back as drkit's tag keys (tags.from_labels)."""
        value = self.props.get("tags")
        if isinstance(value, Mapping):
            return value
        labels = self.props.get("labels")
        return tags.from_labels(dict(labels)) if isinstance(labels, Mapping) else {}

    @property
    def az(self) -> str | None:
        """The AZ (AWS availabilityZone) or zone (GCE instances and disks) the resource is placed in."""
        zone = self.props.get("availabilityZone", self.props.get("zone"))
        return zone if isinstance(zone, str) else self.tags.get(tags.AZ)

    def prop(self, *path: str | int) -> Any:
        """A nested property, or None where any step is missing (or unknown in a preview)."""
        value: Any = self.props
        for step in path:
            if isinstance(step, int):
                value = value[step] if isinstance(value, list | tuple) and len(value) > step else None
            else:
                value = value.get(step) if isinstance(value, Mapping) else None
            if value is None:
                return None
        return value


@dataclass(frozen=True)
class Plan:
    stack: str
    resources: tuple[PlannedResource, ...]
    outputs: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # what the program warned about while building (AZs not pinned, ...)

    def of_type(self, type_token: str) -> list[PlannedResource]:
        return [resource for resource in self.resources if resource.type == type_token]
