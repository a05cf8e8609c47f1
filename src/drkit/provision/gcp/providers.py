"""One explicit gcp.Provider per region, as for AWS: nothing relies on a default provider or gcloud's config."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from drkit.provision import tags
from drkit.provision.errors import ProvisionError

PROJECT_KEY = "gcp:project"


def project() -> str:
    """The GCP project the stack builds in: stack config gcp:project (Pulumi's own key for the provider)."""
    value = pulumi.Config("gcp").get("project")
    if not value:
        raise ProvisionError(
            f"the spec has gcp regions but the stack config has no {PROJECT_KEY}: set it in stacks/Pulumi.<stack>.yaml"
            f" (`pulumi config set {PROJECT_KEY} my-project`)"
        )
    return value


class GcpProviders:
    """gcp.Provider per region, made on first use, labelling every resource with the stack."""

    def __init__(self, stack: str) -> None:
        self.stack = stack
        self._by_region: dict[str, gcp.Provider] = {}
        self._project: str | None = None

    @property
    def project(self) -> str:
        if self._project is None:
            self._project = project()
        return self._project

    def __call__(self, region: str) -> gcp.Provider:
        if region not in self._by_region:
            self._by_region[region] = gcp.Provider(
                f"gcp-{region}",
                project=self.project,
                region=region,
                default_labels={tags.label_key(tags.STACK): self.stack, "drkit-managed-by": "pulumi"},
            )
        return self._by_region[region]
