"""S3 as a backup target: upload a snapshot with its checksum, lock it, list the stack's snapshots in a bucket,
apply retention there, and fetch the exact version a manifest names.

Layout: `<class>/<stack>/<region>/<id>.db` and `<id>.json` beside it, where class is hourly, daily or weekly
(the prefixes the bucket's lifecycle rules expire, see drkit.provision.backup_vault). A snapshot's class is
chosen when it is written: the first of its ISO week is weekly, else the first of its UTC day daily, else
hourly. Each object is locked (Object Lock) for as long as retention keeps its class, capped by the spec's
objectLock, so only the snapshots retention keeps for long are locked for long.

The manifest is written LAST, after the snapshot's upload completed and its size and checksum were read back,
and it names the snapshot's VersionId: a later version put on top of the key (by mistake or malice) is never
what a restore fetches. Standard library and boto3 only: this file ships to the hosts a module runs on.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ansible_collections.drkit.registry.plugins.module_utils.retention import plan_retention
from ansible_collections.drkit.registry.plugins.module_utils.snapshots import (
    MANIFEST_SUFFIX,
    SNAPSHOT_SUFFIX,
    Catalog,
    Snapshot,
    format_time,
    is_drkit_manifest,
    parse_time,
)

CLASSES = ("hourly", "daily", "weekly")
PART_SIZE = 8 * 1024 * 1024  # S3's minimum part is 5 MiB (but the last); 8 MiB is boto3's default too
SHA256_METADATA = "drkit-sha256"


class S3TargetError(Exception):
    """One line naming the target and what to fix."""


@dataclass(frozen=True)
class S3Target:
    name: str
    bucket: str
    region: str
    endpoint_url: str | None = None  # the lab's moto server; None on AWS
    kms_key: str | None = None
    replica_bucket: str | None = None
    replica_region: str | None = None
    object_lock_seconds: float | None = None  # None: the spec asks for no Object Lock
    object_lock_mode: str = "COMPLIANCE"
    access_key: str | None = None  # only the lab's (moto's) fixed keys; AWS uses the default chain
    secret_key: str | None = None


def client(target: S3Target, replica: bool = False) -> Any:
    import boto3  # here, so that importing this file never needs boto3 (rsync-only hosts)
    from botocore.config import Config

    region = (target.replica_region if replica else target.region) or target.region
    kwargs: dict[str, Any] = {
        "region_name": region,
        # Fail fast when a region (or the lab's endpoint) is gone: the replica is tried next.
        # drkit checks every byte against the manifest's sha256 itself; botocore's response check would trip
        # on composite (multipart) checksums that some S3 implementations report without their "-N".
        "config": Config(
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 2},
            response_checksum_validation="when_required",
        ),
    }
    if target.endpoint_url:
        kwargs["endpoint_url"] = target.endpoint_url
    if target.access_key and target.secret_key:
        kwargs["aws_access_key_id"] = target.access_key
        kwargs["aws_secret_access_key"] = target.secret_key
    return boto3.client("s3", **kwargs)


def explain(target: S3Target, bucket: str, error: BaseException) -> str:
    """botocore's error as one line: which target and bucket, what went wrong and what to fix."""
    where = f"backup target {target.name} (s3://{bucket})"
    code = ""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
    kind = type(error).__name__
    if kind in ("NoCredentialsError", "PartialCredentialsError"):
        return f"{where}: no AWS credentials found; give the host an instance profile or set AWS_PROFILE"
    if kind in ("EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError", "ReadTimeoutError"):
        return f"{where}: cannot reach S3 ({error}); check the region and network, or restore from the replica"
    if code in ("NoSuchBucket", "404", "NotFound"):
        return f"{where}: the bucket does not exist; run `pulumi up` for the stack or fix drkit_s3_bucket"
    if code in ("AccessDenied", "403", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return f"{where}: access denied ({code}); grant the host's role s3:PutObject/GetObject/ListBucket on it"
    if code == "NoSuchVersion":
        return f"{where}: the version the manifest names is gone"
    return f"{where}: {code or kind}: {error}"


def snapshot_key(snapshot_class: str, stack: str, region: str, snapshot_id: str, suffix: str) -> str:
    return f"{snapshot_class}/{stack}/{region}/{snapshot_id}{suffix}"


def choose_class(created: datetime, existing: list[datetime]) -> str:
    """weekly for the first snapshot of its ISO week, daily for the first of its UTC day, else hourly (the
    periods retention.py keeps the first snapshot of)."""
    week = created.isocalendar()[:2]
    if not any(other.isocalendar()[:2] == week for other in existing if other < created):
        return "weekly"
    if not any(other.date() == created.date() for other in existing if other < created):
        return "daily"
    return "hourly"


def first_of_its_hour(created: datetime, existing: list[datetime]) -> bool:
    """Retention keeps only the first snapshot of each hour for long; the others only while newest."""
    hour = created.replace(minute=0, second=0, microsecond=0)
    return not any(hour <= other < created for other in existing)


def lock_until(
    created: datetime, snapshot_class: str, hourly: int, daily: int, weekly: int, lock_seconds: float | None
) -> datetime | None:
    """How long to lock a snapshot of this class: as long as retention keeps its class, at most the spec's
    objectLock, and at least one hour (a lock shorter than a backup run protects nothing)."""
    if not lock_seconds:
        return None
    kept = {"hourly": timedelta(hours=hourly), "daily": timedelta(days=daily), "weekly": timedelta(weeks=weekly)}
    span = min(kept[snapshot_class], timedelta(seconds=lock_seconds))
    return created + max(span, timedelta(hours=1))


def check_bucket(s3: Any, target: S3Target) -> None:
    """The bucket exists, is versioned, and has Object Lock when the spec asks for it: before any upload."""
    try:
        s3.head_bucket(Bucket=target.bucket)
        versioning = s3.get_bucket_versioning(Bucket=target.bucket).get("Status")
    except Exception as error:
        raise S3TargetError(explain(target, target.bucket, error)) from None
    if versioning != "Enabled":
        raise S3TargetError(
            f"backup target {target.name} (s3://{target.bucket}): versioning is off; the manifest names a"
            " VersionId, so enable versioning on the bucket (the stack's Pulumi program does)"
        )
    if target.object_lock_seconds:
        try:
            lock = s3.get_object_lock_configuration(Bucket=target.bucket)["ObjectLockConfiguration"]
            enabled = lock.get("ObjectLockEnabled") == "Enabled"
        except Exception as error:
            code = str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))
            if code != "ObjectLockConfigurationNotFoundError":
                raise S3TargetError(explain(target, target.bucket, error)) from None
            enabled = False
        if not enabled:
            raise S3TargetError(
                f"backup target {target.name} (s3://{target.bucket}): Object Lock is off on the bucket, but the"
                " spec asks for objectLock; it can only be turned on for a new bucket (`pulumi up` creates it so)"
            )


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def part_digests(path: str, part_size: int = PART_SIZE) -> tuple[str, list[bytes]]:
    """The whole file's sha256 (hex) and each part's sha256 (raw), read once."""
    whole = hashlib.sha256()
    parts: list[bytes] = []
    with Path(path).open("rb") as handle:
        while True:
            block = handle.read(part_size)
            if not block and parts:
                break
            whole.update(block)
            parts.append(hashlib.sha256(block).digest())
            if len(block) < part_size:
                break
    return whole.hexdigest(), parts


def composite_checksum(parts: list[bytes]) -> str:
    """S3's ChecksumSHA256 of a multipart object: the sha256 of the parts' sha256s (S3 adds "-<parts>")."""
    return _b64(hashlib.sha256(b"".join(parts)).digest())


def upload(
    s3: Any,
    target: S3Target,
    path: str,
    manifest: dict[str, Any],
    snapshot_class: str,
    retain_until: datetime | None,
    part_size: int = PART_SIZE,
) -> dict[str, Any]:
    """Upload the snapshot (multipart, a SHA-256 per part that S3 checks on receipt), read it back, lock it,
    then write its manifest naming the version. Returns the manifest as written."""
    stack, region, snapshot_id = manifest["stack"], manifest["region"], manifest["id"]
    key = snapshot_key(snapshot_class, stack, region, snapshot_id, SNAPSHOT_SUFFIX)
    digest, parts = part_digests(path, part_size)
    if digest != manifest["sha256"]:
        raise S3TargetError(f"the staged snapshot {path} no longer has the manifest's sha256: not uploaded")
    extra: dict[str, Any] = {"Metadata": {SHA256_METADATA: digest}}
    if target.kms_key:
        extra.update({"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": target.kms_key})
    if retain_until is not None:
        # Set at creation: on a bucket with a default retention, a later, shorter COMPLIANCE lock is refused.
        extra.update({"ObjectLockMode": target.object_lock_mode.upper(), "ObjectLockRetainUntilDate": retain_until})
    try:
        started = s3.create_multipart_upload(Bucket=target.bucket, Key=key, ChecksumAlgorithm="SHA256", **extra)
        upload_id = started["UploadId"]
        try:
            done_parts = []
            with Path(path).open("rb") as handle:
                for number, part_digest in enumerate(parts, start=1):
                    body = handle.read(part_size)
                    answer = s3.upload_part(
                        Bucket=target.bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=body,
                        ChecksumAlgorithm="SHA256",
                        ChecksumSHA256=_b64(part_digest),
                    )
                    done_parts.append(
                        {"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": _b64(part_digest)}
                    )
            done = s3.complete_multipart_upload(
                Bucket=target.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done_parts}
            )
        except BaseException:
            # An abandoned upload costs storage until the lifecycle rule aborts it: abort it now.
            # The original error is the one worth reporting.
            with contextlib.suppress(Exception):
                s3.abort_multipart_upload(Bucket=target.bucket, Key=key, UploadId=upload_id)
            raise
        version = done.get("VersionId")
        if not version:
            raise S3TargetError(
                f"backup target {target.name} (s3://{target.bucket}): S3 returned no VersionId; enable versioning"
            )
        head = s3.head_object(Bucket=target.bucket, Key=key, VersionId=version, ChecksumMode="ENABLED")
    except S3TargetError:
        raise
    except Exception as error:
        raise S3TargetError(explain(target, target.bucket, error)) from None
    expected = composite_checksum(parts)
    reported = str(head.get("ChecksumSHA256") or "").split("-")[0]
    if head.get("ContentLength") != int(manifest["size"]) or (reported and reported != expected):
        raise S3TargetError(
            f"backup target {target.name}: the uploaded {key} (version {version}) has {head.get('ContentLength')}"
            f" bytes and checksum {reported or 'none'}, expected {manifest['size']} and {expected}: not marked verified"
        )
    if retain_until is not None:
        _ensure_locked(s3, target, key, version, head, retain_until)
    s3_facts = {
        "bucket": target.bucket,
        "key": key,
        "version_id": version,
        "class": snapshot_class,
        "checksum_sha256": expected,
        "retain_until": format_time(retain_until) if retain_until else None,
        "kms_key": target.kms_key or None,
    }
    written = dict(manifest, s3=s3_facts, verified_at=format_time(datetime.now(timezone.utc)))
    manifest_key = snapshot_key(snapshot_class, stack, region, snapshot_id, MANIFEST_SUFFIX)
    body = (json.dumps(written, indent=2, sort_keys=True) + "\n").encode("utf-8")
    put: dict[str, Any] = {k: v for k, v in extra.items() if k != "Metadata"}
    try:
        s3.put_object(
            Bucket=target.bucket,
            Key=manifest_key,
            Body=body,
            ContentType="application/json",
            ChecksumAlgorithm="SHA256",
            **put,
        )
    except Exception as error:
        raise S3TargetError(explain(target, target.bucket, error)) from None
    return written


def _ensure_locked(s3: Any, target: S3Target, key: str, version: str, head: dict[str, Any], until: datetime) -> None:
    """Some S3 implementations (moto) drop the lock headers of a multipart upload: set the retention then."""
    current = head.get("ObjectLockRetainUntilDate")
    if current is not None and current >= until:
        return
    try:
        s3.put_object_retention(
            Bucket=target.bucket,
            Key=key,
            VersionId=version,
            Retention={"Mode": target.object_lock_mode.upper(), "RetainUntilDate": until},
        )
    except Exception as error:
        raise S3TargetError(explain(target, target.bucket, error)) from None


@dataclass(frozen=True)
class S3Entry:
    """A snapshot in a bucket: its manifest (and the manifest's own version), what the named version holds."""

    snapshot: Snapshot
    manifest_key: str
    manifest_version: str | None
    verifies: bool  # the named version is there with the manifest's size and sha256
    problem: str | None  # why it does not verify
    retain_until: datetime | None
    replication_status: str | None


@dataclass(frozen=True)
class S3Catalog:
    entries: list[S3Entry]  # newest first
    unmanaged: list[str]

    def catalog(self) -> Catalog:
        return Catalog([entry.snapshot for entry in self.entries], self.unmanaged)


def _list_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    keys: list[str] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if token:
            kwargs["ContinuationToken"] = token
        page = s3.list_objects_v2(**kwargs)
        keys.extend(item["Key"] for item in page.get("Contents", []))
        if not page.get("IsTruncated"):
            return keys
        token = page.get("NextContinuationToken")


def expected_key(manifest: dict[str, Any], snapshot_class: str) -> str:
    return snapshot_key(snapshot_class, manifest["stack"], manifest["region"], manifest["id"], SNAPSHOT_SUFFIX)


def read_catalog(s3: Any, target: S3Target, stack: str, region: str | None, bucket: str | None = None) -> S3Catalog:
    """The stack's snapshots in the bucket (the target's, or `bucket`: its replica), newest first. A manifest
    counts only when it is drkit's, of that stack (and region), at its own key, naming the snapshot key
    beside it: so nothing a stranger wrote can make drkit act on another object."""
    name = bucket or target.bucket
    entries: list[S3Entry] = []
    unmanaged: list[str] = []
    try:
        for snapshot_class in CLASSES:
            prefix = f"{snapshot_class}/{stack}/"
            keys = _list_keys(s3, name, prefix)
            claimed = set()
            for key in keys:
                if not key.endswith(MANIFEST_SUFFIX):
                    continue
                got = s3.get_object(Bucket=name, Key=key)
                try:
                    manifest = json.loads(got["Body"].read().decode("utf-8"))
                except ValueError:
                    continue
                facts = manifest.get("s3") if isinstance(manifest, dict) else None
                if not is_drkit_manifest(manifest, stack, region) or not isinstance(facts, dict):
                    continue
                if key != snapshot_key(snapshot_class, stack, manifest["region"], manifest["id"], MANIFEST_SUFFIX):
                    continue
                if facts.get("key") != expected_key(manifest, snapshot_class):
                    continue
                entries.append(_entry(s3, name, key, got.get("VersionId"), manifest, facts))
                claimed.update({key, facts["key"]})
            unmanaged.extend(key for key in keys if key not in claimed)
    except Exception as error:
        raise S3TargetError(explain(target, name, error)) from None
    entries.sort(key=lambda entry: (entry.snapshot.created, entry.snapshot.id), reverse=True)
    return S3Catalog(entries, unmanaged)


def _entry(
    s3: Any, bucket: str, key: str, manifest_version: str | None, manifest: dict[str, Any], facts: dict[str, Any]
) -> S3Entry:
    size: int | None = None
    problem: str | None = None
    retain: datetime | None = None
    replication: str | None = None
    head = find_version(s3, bucket, facts["key"], facts.get("version_id"), manifest.get("sha256"))
    if head is None:
        problem = f"version {facts.get('version_id')} of {facts['key']} is gone"
    else:
        size = int(head.get("ContentLength", -1))
        retain = head.get("ObjectLockRetainUntilDate")
        replication = head.get("ReplicationStatus")
        if size != int(manifest.get("size") or -1):
            problem = f"size {size} bytes, manifest says {manifest.get('size')}"
        elif head.get("Metadata", {}).get(SHA256_METADATA) != manifest.get("sha256"):
            problem = "its sha256 is not the manifest's"
    snapshot = Snapshot(manifest["id"], manifest, size if problem is None else None)
    return S3Entry(snapshot, key, manifest_version, problem is None, problem, retain, replication)


def find_version(s3: Any, bucket: str, key: str, version: str | None, sha256: str | None) -> dict[str, Any] | None:
    """head_object of the version the manifest names. In a replica bucket, S3 replication keeps version IDs;
    should a copy have another one, the version whose recorded sha256 is the manifest's is the same bytes
    (and a restore re-verifies every byte anyway). None when no such version is there."""
    try:
        head: dict[str, Any] = s3.head_object(Bucket=bucket, Key=key, VersionId=version)
        head["VersionId"] = version
        return head
    except Exception as error:
        code = str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))
        if code not in ("NoSuchVersion", "404", "NoSuchKey", "400", "InvalidArgument"):
            raise
    if not sha256:
        return None
    listing = s3.list_object_versions(Bucket=bucket, Prefix=key)
    for candidate in listing.get("Versions", []):
        if candidate["Key"] != key:
            continue
        head = s3.head_object(Bucket=bucket, Key=key, VersionId=candidate["VersionId"])
        if head.get("Metadata", {}).get(SHA256_METADATA) == sha256:
            head["VersionId"] = candidate["VersionId"]
            return head
    return None


def apply_retention(
    s3: Any,
    target: S3Target,
    stack: str,
    region: str,
    now: datetime,
    hourly: int,
    daily: int,
    weekly: int,
    check_mode: bool = False,
) -> dict[str, Any]:
    """retention.py's plan over the bucket's snapshots of that stack and region. Deletes the named versions
    only (the snapshot first, then its manifest: an interruption leaves a manifest naming a gone version,
    which the next run deletes), and never a version still under Object Lock."""
    catalog = read_catalog(s3, target, stack, region)
    plan = plan_retention(catalog.catalog().snapshots, now, hourly, daily, weekly)
    by_id = {entry.snapshot.id: entry for entry in catalog.entries}
    deleted: list[str] = []
    locked: dict[str, str] = {}
    for snapshot_id in plan.delete:
        entry = by_id[snapshot_id]
        until = entry.retain_until
        if until is not None and until > now:
            locked[snapshot_id] = format_time(until)
            continue
        if not check_mode:
            facts = entry.snapshot.manifest["s3"]
            try:
                if entry.problem is None or "gone" not in entry.problem:
                    s3.delete_object(Bucket=target.bucket, Key=facts["key"], VersionId=facts["version_id"])
                s3.delete_object(Bucket=target.bucket, Key=entry.manifest_key, VersionId=entry.manifest_version)
            except Exception as error:
                locked[snapshot_id] = f"not deleted: {explain(target, target.bucket, error)}"
                continue
        deleted.append(snapshot_id)
    return {"kept": plan.keep, "deleted": deleted, "locked": locked, "unmanaged": catalog.unmanaged}


def download(s3: Any, bucket: str, manifest: dict[str, Any], local: str) -> str:
    """Fetch the version the manifest names into `local` (through a temp file renamed into place); returns
    the version fetched. The caller verifies size, sha256 and snapshot status."""
    facts = manifest["s3"]
    head = find_version(s3, bucket, facts["key"], facts.get("version_id"), manifest.get("sha256"))
    if head is None:
        raise S3TargetError(f"version {facts.get('version_id')} of {facts['key']} is gone from s3://{bucket}")
    partial = f"{local}.partial"
    s3.download_file(bucket, facts["key"], partial, ExtraArgs={"VersionId": head["VersionId"]})
    Path(partial).replace(local)
    return str(head["VersionId"])


def existing_times(s3: Any, target: S3Target, stack: str, region: str) -> list[datetime]:
    """When the stack's verified snapshots at the bucket were taken (to choose a new one's class)."""
    return [entry.snapshot.created for entry in read_catalog(s3, target, stack, region).entries if entry.verifies]


def upload_snapshot(
    target: S3Target,
    path: str,
    manifest: dict[str, Any],
    hourly: int,
    daily: int,
    weekly: int,
    s3: Any = None,
) -> dict[str, Any]:
    """The whole backup to one S3 target: check the bucket, choose the class and lock, upload, manifest."""
    s3 = s3 or client(target)
    check_bucket(s3, target)
    created = parse_time(manifest["started_at"])
    existing = existing_times(s3, target, manifest["stack"], manifest["region"])
    snapshot_class, until = class_and_lock(created, existing, hourly, daily, weekly, target.object_lock_seconds)
    return upload(s3, target, path, manifest, snapshot_class, until)


def class_and_lock(
    created: datetime, existing: list[datetime], hourly: int, daily: int, weekly: int, lock_seconds: float | None
) -> tuple[str, datetime | None]:
    """A new snapshot's prefix class and how long to lock it, from the snapshots already there."""
    snapshot_class = choose_class(created, existing)
    # A second snapshot within an hour is kept only while it is the newest: it gets the shortest lock.
    keeps_hourly = hourly if snapshot_class != "hourly" or first_of_its_hour(created, existing) else 0
    return snapshot_class, lock_until(created, snapshot_class, keeps_hourly, daily, weekly, lock_seconds)


class S3Source:
    """A restore source (see fetch.py): the target's bucket, or its replica when the bucket cannot be listed
    (its region is gone). `only_replica` restricts it to the replica."""

    def __init__(self, target: S3Target, only_replica: bool = False, factory: Any = None) -> None:
        self.target = target
        self.name = target.name
        self.only_replica = only_replica
        self._factory = factory or client
        self.bucket = target.replica_bucket if only_replica else target.bucket
        self._s3: Any = None
        self.note = ""  # said in the report: which bucket, and why the replica

    def list_manifests(self, stack: str, region: str | None) -> list[dict[str, Any]]:
        attempts = [(self.target.bucket, False)] if not self.only_replica else []
        if self.target.replica_bucket:
            attempts.append((self.target.replica_bucket, True))
        failures: list[str] = []
        for bucket, replica in attempts:
            s3 = self._factory(self.target, replica)
            try:
                catalog = read_catalog(s3, self.target, stack, region, bucket=bucket)
            except S3TargetError as error:
                failures.append(str(error))
                continue
            self._s3, self.bucket = s3, bucket
            self.note = f"s3://{bucket}" + (
                " (replica" + (": " + failures[0] + ")" if failures else ")") if replica else ""
            )
            return [entry.snapshot.manifest for entry in catalog.entries]
        from ansible_collections.drkit.registry.plugins.module_utils.fetch import FetchError

        raise FetchError("; ".join(failures) or f"backup target {self.name} has no replica bucket")

    def fetch(self, snapshot_id: str, manifest: dict[str, Any], local: str) -> None:
        from ansible_collections.drkit.registry.plugins.module_utils.fetch import FetchError

        try:
            download(self._s3, str(self.bucket), manifest, local)
        except S3TargetError as error:
            raise FetchError(str(error)) from None
        except Exception as error:
            raise FetchError(explain(self.target, str(self.bucket), error)) from None


def target_from_params(params: dict[str, Any]) -> S3Target:
    """An S3Target from a module's parameters or a restore target's dict (the inventory's drkit_s3_* values)."""

    def text(key: str) -> str | None:
        value = params.get(key)
        return str(value) if value not in (None, "") else None

    lock = params.get("object_lock_seconds")
    return S3Target(
        name=str(params.get("name") or params["bucket"]),
        bucket=str(params["bucket"]),
        region=str(params.get("region") or "us-east-1"),
        endpoint_url=text("endpoint_url"),
        kms_key=text("kms_key"),
        replica_bucket=text("replica_bucket"),
        replica_region=text("replica_region"),
        object_lock_seconds=float(lock) if lock not in (None, "", 0, "0") else None,
        object_lock_mode=str(params.get("object_lock_mode") or "compliance").upper(),
        access_key=text("access_key"),
        secret_key=text("secret_key"),
    )


def summaries(catalog: S3Catalog) -> list[dict[str, Any]]:
    """What `drkit backups list` shows per snapshot: the rsync catalog's summary, plus S3's facts."""
    rows = []
    for entry in catalog.entries:
        facts = entry.snapshot.manifest.get("s3", {})
        row = entry.snapshot.summary()
        row.update(
            {
                "verifies": entry.verifies,
                "problem": entry.problem,
                "key": facts.get("key"),
                "version_id": facts.get("version_id"),
                "class": facts.get("class"),
                "retain_until": format_time(entry.retain_until) if entry.retain_until else None,
                "replication_status": entry.replication_status,
            }
        )
        rows.append(row)
    return rows
