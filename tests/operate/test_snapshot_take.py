"""take_snapshot (module_utils/snapshot_take.py): the manifest of a new snapshot, and a snapshot that fails
`snapshot status` kept aside, never described or shipped. The save and status commands are recorded fakes
here; the live backup tests run the module against the lab's etcd."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from ansible_collections.drkit.registry.plugins.module_utils.snapshot_take import SnapshotError, take_snapshot

ID = "local-lab-east-20261207T114427Z"
DESCRIBE = {"stack": "local", "region": "lab-east", "cluster_id": "123", "source_member": "lab-east-1"}


class Etcd:
    def __init__(self, status: str = '{"hash": 42, "revision": 120, "totalKey": 50, "totalSize": 20480}') -> None:
        self.status = status
        self.commands: list[list[str]] = []

    def run(self, argv: list[str]) -> str:
        self.commands.append(argv)
        if argv[-2:] == ["-w", "json"]:
            if self.status == "unreadable":
                raise SnapshotError("etcdctl snapshot status exited 1: invalid database")
            return self.status
        Path(argv[-1]).write_bytes(b"bolt database bytes")
        return ""


def counts(prefix: str, revision: int) -> int:
    assert revision == 120, "keys are counted at the snapshot's revision"
    return {"": 40, "/services/": 7}[prefix]


def test_the_manifest_describes_the_checked_snapshot_and_is_written_beside_it(tmp_path: Path) -> None:
    etcd = Etcd()
    manifest = take_snapshot(
        ["etcdctl", "--endpoints=http://127.0.0.1:24100", "snapshot", "save"],
        ["etcdctl", "snapshot", "status"],
        tmp_path / "staging",
        ID,
        DESCRIBE,
        ["/services/"],
        counts,
        run=etcd.run,
    )
    snapshot = tmp_path / "staging" / f"{ID}.db"
    assert manifest["sha256"] == hashlib.sha256(snapshot.read_bytes()).hexdigest()
    assert (manifest["revision"], manifest["key_count"]) == (120, 40)
    assert manifest["ephemeral_key_counts"] == {"/services/": 7}
    assert (manifest["snapshot_hash"], manifest["snapshot_total_keys"], manifest["size"]) == (42, 50, 19)
    assert manifest["id"] == ID and manifest["file"] == f"{ID}.db" and manifest["format"] == "drkit.snapshot/v1"
    assert manifest["source_member"] == "lab-east-1"
    assert json.loads((tmp_path / "staging" / f"{ID}.json").read_text()) == manifest
    assert etcd.commands[0][-1] == str(snapshot) and etcd.commands[1][-3] == str(snapshot)


def test_a_snapshot_status_cannot_read_is_kept_aside_and_nothing_is_described(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match=r"failed `snapshot status`.*kept as .*\.db\.rejected"):
        take_snapshot(["save"], ["status"], tmp_path, ID, DESCRIBE, [], counts, run=Etcd("unreadable").run)
    assert (tmp_path / f"{ID}.db.rejected").read_bytes() == b"bolt database bytes"
    assert not (tmp_path / f"{ID}.db").exists() and not (tmp_path / f"{ID}.json").exists()
