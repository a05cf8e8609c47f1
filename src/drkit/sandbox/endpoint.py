"""The lab's global endpoint: HAProxy's runtime API over its admin socket."""

from __future__ import annotations

import json
import socket

from drkit.sandbox.paths import LabPaths
from drkit.sandbox.plan import LabPlan


class EndpointError(Exception):
    pass


def command(paths: LabPaths, line: str, timeout: float = 5.0) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(timeout)
        try:
            connection.connect(str(paths.haproxy_socket))
        except OSError as error:
            raise EndpointError(f"HAProxy's runtime API at {paths.haproxy_socket} does not answer: {error}") from None
        connection.sendall(line.encode() + b"\n")
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def set_region(paths: LabPaths, plan: LabPlan, region: str, state: str) -> None:
    """state: ready (in rotation) or maint (out of rotation, sessions closed)."""
    target = plan.region(region)
    if target is None:
        raise EndpointError(f"no region {region} in the lab")
    for member in target.members:
        reply = command(paths, f"set server registry/{member.name} state {state}")
        if reply.strip():
            raise EndpointError(f"HAProxy refused to set {member.name} to {state}: {reply.strip()}")
        if state == "maint":
            command(paths, f"shutdown sessions server registry/{member.name}")


def server_states(paths: LabPaths) -> dict[str, str]:
    """Server name -> UP, DOWN or MAINT, from HAProxy's `show stat`."""
    lines = command(paths, "show stat").splitlines()
    if not lines or not lines[0].startswith("# "):
        raise EndpointError("unexpected answer to `show stat`")
    header = lines[0][2:].split(",")
    states = {}
    for line in lines[1:]:
        fields = dict(zip(header, line.split(","), strict=False))
        if fields.get("pxname") == "registry" and fields.get("svname") not in ("FRONTEND", "BACKEND", None):
            states[fields["svname"]] = fields.get("status", "?").split(" ")[0]
    return states


def load_serving(paths: LabPaths, plan: LabPlan) -> set[str]:
    """Regions the endpoint serves: the primary until a failover records otherwise."""
    try:
        return set(json.loads(paths.endpoint_state.read_text())["serving"])
    except (OSError, ValueError, KeyError):
        return {plan.primary.name}


def save_serving(paths: LabPaths, serving: set[str]) -> None:
    paths.endpoint_state.write_text(json.dumps({"serving": sorted(serving)}) + "\n")
