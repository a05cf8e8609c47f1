"""How applications reach the registry: the endpoint, the CA to trust, and a client certificate each.

With TLS the members demand a client certificate from the stack's CA (--client-cert-auth), so an application
needs three things drkit holds: the endpoint, the CA certificate, and a key and certificate of its own. Each
name in registry.clients gets one, issued by pulumi-tls like the members' (client auth only, renewed a year
before it lapses by the next `pulumi up`), and kept in Secrets Manager (Secret Manager in GCP regions) in every
region, encrypted with that region's registry key, so an application can read it where it runs, even with the
primary region gone.
The stack output clientAccess names the endpoint, gives the CA certificate (public) and the secrets' ARNs;
never a key.
"""

from __future__ import annotations

from typing import Any

import pulumi

from drkit.provision import tags
from drkit.provision.gcp.registry_cluster import GcpRegistryCluster
from drkit.provision.registry_cluster import RegistryCluster
from drkit.provision.tls import CertificateAuthority, issue
from drkit.provision.tls_delivery import tls_secret

TYPE = "drkit:provision:ClientAccess"
AnyCluster = RegistryCluster | GcpRegistryCluster


class ClientAccess(pulumi.ComponentResource):
    def __init__(
        self,
        stack: str,
        clients: tuple[str, ...],
        ca: CertificateAuthority,
        clusters: list[AnyCluster],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TYPE, f"{stack}-clients", None, opts)
        self.secrets: dict[str, dict[str, pulumi.Output[str]]] = {}
        for client in clients:
            issued = issue(f"client-{client}", ca, client, server=False, parent=self)
            self.secrets[client] = {}
            for cluster in clusters:
                region = cluster.args.region.name
                if isinstance(cluster, GcpRegistryCluster):
                    # GCP regions keep it in Secret Manager, encrypted with the region's Cloud KMS key.
                    gcp_holder = cluster.tls_secret(
                        f"{stack}-{region}-client-{client}",
                        f"drkit-{stack}-{region}-client-{client}",
                        issued,
                        tags.labels(stack, region, "client-access"),
                        pulumi.ResourceOptions(parent=self, provider=cluster.provider),
                    )
                    self.secrets[client][region] = gcp_holder.name
                    continue
                holder = tls_secret(
                    f"{stack}-{region}-client-{client}",
                    issued,
                    ca,
                    cluster.kms_key,
                    tags.tags(stack, region, "client-access", f"client-{client}"),
                    pulumi.ResourceOptions(parent=self, provider=cluster.provider),
                    description=f"TLS key and certificate of registry client {client} (drkit; JSON: ca, cert, key).",
                )
                self.secrets[client][region] = holder.arn
        self.register_outputs({"clients": list(clients)})


def client_access_output(
    endpoint: pulumi.Input[str] | None,
    ca: CertificateAuthority | None,
    clusters: list[AnyCluster],
    access: ClientAccess | None,
) -> dict[str, Any]:
    return {
        # The global endpoint when there is one, else the primary region's.
        "endpoint": endpoint if endpoint is not None else clusters[0].client_endpoint,
        "caCertificate": ca.cert.cert_pem if ca else None,
        "clientCertificateSecrets": access.secrets if access else {},
        "networks": {
            cluster.args.region.name: {
                "clientCidrs": list(cluster.args.registry.client_cidrs),
                "clientSecurityGroupIds": list(cluster.args.region.network.client_security_group_ids),
            }
            for cluster in clusters
        },
    }
