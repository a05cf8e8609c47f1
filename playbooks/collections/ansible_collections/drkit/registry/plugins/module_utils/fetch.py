"""Pick a snapshot at the backup targets, fetch it and prove it is the one its manifest names.

A target is a source of manifests and snapshot files: an rsync URL (`rsync://host:port/module/path` for a
daemon, `host:/path` over ssh, or a local directory), here, or an S3 bucket (s3_store.S3Source). A
candidate is accepted only when its sha256 and size match the manifest AND the snapshot tool (`etcdutl
snapshot status`, or `etcdctl snapshot status` on 3.4) reads it and reports the manifest's revision.
Nothing here stops or touches a member: restore calls this before anything is changed.
Standard library only: this file ships to the hosts a module runs on.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ansible_collections.drkit.registry.plugins.module_utils.snapshots import (
    MANIFEST_SUFFIX,
    SNAPSHOT_SUFFIX,
    is_drkit_manifest,
    parse_time,
    sha256_of,
)

RSYNC_TIMEOUT = 30


class FetchError(Exception):
    pass


class Source(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def note(self) -> str:
        """Where the copy came from, for the report (e.g. a replica bucket)."""

    def list_manifests(self, stack: str, region: str | None) -> list[dict[str, Any]]: ...

    def fetch(self, snapshot_id: str, manifest: dict[str, Any], local: str) -> None: ...


@dataclass(frozen=True)
class Target:
    name: str
    url: str  # the directory holding the snapshots, without a trailing slash
    rsync_bin: str = "rsync"
    note: str = ""

    def file(self, name: str) -> str:
        return f"{self.url}/{name}"

    def list_manifests(self, stack: str, region: str | None) -> list[dict[str, Any]]:
        return list_manifests(self, stack, region, self.rsync_bin)

    def fetch(self, snapshot_id: str, manifest: dict[str, Any], local: str) -> None:
        # --partial-dir: an interrupted fetch resumes; rsync renames into place only when complete.
        rsync(["-t", "--partial-dir=.rsync-partial", self.file(snapshot_id + SNAPSHOT_SUFFIX), local], self.rsync_bin)


@dataclass
class Outcome:
    snapshot_id: str | None = None
    path: str | None = None
    manifest: dict[str, Any] | None = None
    target: str | None = None
    source_note: str = ""
    status: dict[str, Any] | None = None
    rejected: list[dict[str, str]] = field(default_factory=list)  # {id, target, reason}
    unreachable: list[dict[str, str]] = field(default_factory=list)  # {target, reason}

    @property
    def fell_back(self) -> bool:
        return self.snapshot_id is not None and any(r["id"] != self.snapshot_id for r in self.rejected)


def rsync(arguments: list[str], rsync_bin: str = "rsync") -> None:
    command = [rsync_bin, f"--timeout={RSYNC_TIMEOUT}", *arguments]
    if any(argument.startswith("rsync://") for argument in arguments):
        command.insert(1, "--contimeout=10")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise FetchError(rsync_error(result.stderr or result.stdout, result.returncode))


def rsync_error(output: str, returncode: int) -> str:
    """rsync's first explanatory line ("rsync: failed to connect ...", "@ERROR: Unknown module ...")."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("rsync:", "@ERROR")):
            return line
    return lines[-1] if lines else f"rsync exited with code {returncode}"


def list_manifests(target: Target, stack: str, region: str | None, rsync_bin: str = "rsync") -> list[dict[str, Any]]:
    """The drkit manifests of the stack's cluster in `region` at a target, newest first (raises FetchError when
    the target cannot be reached)."""
    scratch = tempfile.mkdtemp(prefix="drkit-manifests-")
    try:
        rsync(["-r", "--include=*" + MANIFEST_SUFFIX, "--exclude=*", target.url + "/", scratch + "/"], rsync_bin)
        manifests = []
        for path in Path(scratch).iterdir():
            try:
                manifest = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if is_drkit_manifest(manifest, stack, region) and manifest["id"] + MANIFEST_SUFFIX == path.name:
                manifests.append(manifest)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    manifests.sort(key=lambda m: (parse_time(m["started_at"]), m["id"]), reverse=True)
    return manifests


def snapshot_status(status_command: list[str], path: str) -> dict[str, Any]:
    """`etcdutl snapshot status -w json` (or etcdctl's on 3.4): hash, revision, totalKey, totalSize."""
    result = subprocess.run([*status_command, path, "-w", "json"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise FetchError(f"snapshot status failed: {lines[-1] if lines else 'exit ' + str(result.returncode)}")
    try:
        status: dict[str, Any] = json.loads(result.stdout)
    except ValueError:
        raise FetchError(f"snapshot status printed no JSON: {result.stdout[:200]!r}") from None
    return status


def verify(path: str, manifest: dict[str, Any], status_command: list[str]) -> dict[str, Any]:
    """Raise FetchError saying what differs; return the snapshot status when everything matches."""
    size = Path(path).stat().st_size
    if size != manifest.get("size"):
        raise FetchError(f"size {size} bytes, manifest says {manifest.get('size')} (truncated or replaced)")
    digest = sha256_of(path)
    if digest != manifest.get("sha256"):
        raise FetchError(f"sha256 {digest[:16]}…, manifest says {str(manifest.get('sha256'))[:16]}… (corrupt)")
    status = snapshot_status(status_command, path)
    if int(status.get("revision", -1)) != int(manifest.get("revision", -2)):
        raise FetchError(f"snapshot status reports revision {status.get('revision')}, manifest {manifest['revision']}")
    return status


def fetch_verified(
    targets: list[Source],
    stack: str,
    region: str | None,
    wanted: str,
    dest_dir: str,
    status_command: list[str],
    fallback: bool,
) -> Outcome:
    """Fetch `wanted` ('latest' or an ID) into dest_dir and verify it. With fallback, older snapshots are
    tried when the newest fails; every copy of a snapshot (one per target) is tried before the next one."""
    outcome = Outcome()
    catalog: dict[str, list[tuple[Source, dict[str, Any]]]] = {}
    for target in targets:
        try:
            manifests = target.list_manifests(stack, region)
        except FetchError as error:
            outcome.unreachable.append({"target": target.name, "reason": str(error)})
            continue
        for manifest in manifests:
            catalog.setdefault(manifest["id"], []).append((target, manifest))
    order = sorted(catalog, key=lambda i: (parse_time(catalog[i][0][1]["started_at"]), i), reverse=True)
    if wanted != "latest":
        order = [wanted] if wanted in catalog else []
    if not fallback:
        order = order[:1]
    Path(dest_dir).mkdir(parents=True, exist_ok=True)
    for snapshot_id in order:
        local = str(Path(dest_dir) / (snapshot_id + SNAPSHOT_SUFFIX))
        for target, manifest in catalog[snapshot_id]:
            try:
                target.fetch(snapshot_id, manifest, local)
                status = verify(local, manifest, status_command)
            except (FetchError, OSError) as error:
                outcome.rejected.append({"id": snapshot_id, "target": target.name, "reason": str(error)})
                # Only our local copy goes: rsync's quick check must not mistake it for the next target's.
                Path(local).unlink(missing_ok=True)
                continue
            (Path(dest_dir) / (snapshot_id + MANIFEST_SUFFIX)).write_text(json.dumps(manifest, indent=2), "utf-8")
            outcome.snapshot_id, outcome.path, outcome.manifest = snapshot_id, local, manifest
            outcome.target, outcome.status, outcome.source_note = target.name, status, target.note
            return outcome
    return outcome


def share_verified(verified: str, wanted: str, dest_dir: str) -> Outcome | None:
    """The snapshot another member on this host already fetched and verified (`verified`, its manifest beside
    it), hard-linked into dest_dir: members sharing a host share one file, fetched and verified once. None
    when it cannot be linked (another filesystem, or it is gone): the caller fetches and verifies then."""
    source = Path(verified)
    snapshot_id = source.name.removesuffix(SNAPSHOT_SUFFIX)
    if snapshot_id != wanted:
        return None  # only the very snapshot asked for
    try:
        manifest = json.loads((source.parent / (snapshot_id + MANIFEST_SUFFIX)).read_text("utf-8"))
        Path(dest_dir).mkdir(parents=True, exist_ok=True)
        local = Path(dest_dir) / source.name
        if not (local.exists() and local.samefile(source)):
            partial = local.with_name(local.name + ".link")
            partial.unlink(missing_ok=True)
            partial.hardlink_to(source)
            partial.replace(local)
        (Path(dest_dir) / (snapshot_id + MANIFEST_SUFFIX)).write_text(json.dumps(manifest, indent=2), "utf-8")
    except (OSError, ValueError):
        return None
    outcome = Outcome(snapshot_id=snapshot_id, path=str(local), manifest=manifest)
    outcome.target, outcome.source_note = "this host", f"the copy verified at {verified}"
    return outcome
