"""The few Compute Engine calls the GCP control plane makes, behind a Protocol so tests pass a fake.

`RestCompute` is the real one: the Compute Engine REST API (v1) over HTTPS with an OAuth access token that the
caller supplies (for instance `gcloud auth print-access-token`), through an injectable `send` so it is
unit-tested without a network. No Google client library is needed (pulumi-gcp ships none).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, Protocol

COMPUTE_API = "https://compute.googleapis.com/compute/v1"


class GcpApiError(Exception):
    """GCP refused a call or could not be reached: the control plane turns it into a failed FenceAction."""


class ComputeApi(Protocol):
    def list_instances(self, project: str, labels: Mapping[str, str]) -> list[dict[str, Any]]:
        """Every instance of the project carrying all `labels` (any zone): name, zone, status, labels."""
        ...

    def set_instance_running(self, project: str, zone: str, name: str, running: bool) -> None: ...

    def get_firewall(self, project: str, name: str) -> dict[str, Any] | None: ...

    def insert_firewall(self, project: str, body: Mapping[str, Any]) -> None: ...

    def delete_firewall(self, project: str, name: str) -> None: ...

    def get_metadata(self, project: str) -> tuple[dict[str, str], str]:
        """The project's common instance metadata as key -> value, and its fingerprint (for set_metadata)."""
        ...

    def set_metadata(self, project: str, items: Mapping[str, str], fingerprint: str) -> None:
        """Replace the project's common metadata; GCP refuses it when `fingerprint` is stale (412)."""
        ...


# (method, url, JSON body or None) -> (HTTP status, parsed JSON body)
Send = Callable[[str, str, Mapping[str, Any] | None], tuple[int, Any]]


class RestCompute:
    def __init__(self, token: Callable[[], str], send: Send | None = None) -> None:
        self.token = token
        self.send = send or self._urlopen

    def _urlopen(self, method: str, url: str, body: Mapping[str, Any] | None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token()}")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise GcpApiError(f"{method} {url}: {error}") from None

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None, missing_ok: bool = False) -> Any:
        status, answer = self.send(method, f"{COMPUTE_API}/{path}", body)
        if status == 404 and missing_ok:
            return None
        if status >= 400:
            message = (answer.get("error") or {}).get("message", "") if isinstance(answer, dict) else ""
            raise GcpApiError(f"{method} {path}: HTTP {status} {message}".rstrip())
        return answer

    def list_instances(self, project: str, labels: Mapping[str, str]) -> list[dict[str, Any]]:
        query = " AND ".join(f"labels.{key}={value}" for key, value in sorted(labels.items()))
        path = f"projects/{project}/aggregated/instances?filter={urllib.parse.quote(query)}"
        found: list[dict[str, Any]] = []
        while True:
            answer = self._call("GET", path)
            for scoped in (answer.get("items") or {}).values():
                for instance in scoped.get("instances") or []:
                    found.append({**instance, "zone": str(instance.get("zone", "")).rsplit("/", 1)[-1]})
            token = answer.get("nextPageToken")
            if not token:
                return found
            path = f"projects/{project}/aggregated/instances?filter={urllib.parse.quote(query)}&pageToken={token}"

    def set_instance_running(self, project: str, zone: str, name: str, running: bool) -> None:
        self._call("POST", f"projects/{project}/zones/{zone}/instances/{name}/{'start' if running else 'stop'}")

    def get_firewall(self, project: str, name: str) -> dict[str, Any] | None:
        found = self._call("GET", f"projects/{project}/global/firewalls/{name}", missing_ok=True)
        return dict(found) if isinstance(found, dict) else None

    def insert_firewall(self, project: str, body: Mapping[str, Any]) -> None:
        self._call("POST", f"projects/{project}/global/firewalls", body)

    def delete_firewall(self, project: str, name: str) -> None:
        self._call("DELETE", f"projects/{project}/global/firewalls/{name}", missing_ok=True)

    def get_metadata(self, project: str) -> tuple[dict[str, str], str]:
        answer = self._call("GET", f"projects/{project}")
        metadata = answer.get("commonInstanceMetadata") or {}
        items = {str(item["key"]): str(item.get("value", "")) for item in metadata.get("items") or []}
        return items, str(metadata.get("fingerprint", ""))

    def set_metadata(self, project: str, items: Mapping[str, str], fingerprint: str) -> None:
        body = {"fingerprint": fingerprint, "items": [{"key": k, "value": v} for k, v in sorted(items.items())]}
        self._call("POST", f"projects/{project}/setCommonInstanceMetadata", body)
