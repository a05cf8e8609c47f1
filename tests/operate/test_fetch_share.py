"""Members on one host share a verified snapshot (fetch.share_verified): one file, fetched and verified
once, hard-linked into each member's restore directory; anything else falls back to a fetch."""

from __future__ import annotations

import json
from pathlib import Path

from ansible_collections.drkit.registry.plugins.module_utils.fetch import share_verified

SNAPSHOT = "local-lab-east-20261207T114427Z"


def verified_copy(tmp_path: Path) -> Path:
    first = tmp_path / "lab-east-1.restore"
    first.mkdir()
    (first / f"{SNAPSHOT}.db").write_bytes(b"snapshot bytes")
    (first / f"{SNAPSHOT}.json").write_text(json.dumps({"id": SNAPSHOT, "sha256": "ab"}))
    return first / f"{SNAPSHOT}.db"


def test_a_member_on_the_same_host_gets_the_same_file_not_a_second_fetch(tmp_path: Path) -> None:
    verified = verified_copy(tmp_path)
    dest = tmp_path / "lab-east-2.restore"
    outcome = share_verified(str(verified), SNAPSHOT, str(dest))
    assert outcome is not None and outcome.snapshot_id == SNAPSHOT
    assert (dest / f"{SNAPSHOT}.db").samefile(verified)
    assert json.loads((dest / f"{SNAPSHOT}.json").read_text())["id"] == SNAPSHOT
    assert outcome.manifest == {"id": SNAPSHOT, "sha256": "ab"}
    # Again (a resumed restore): still the one file.
    again = share_verified(str(verified), SNAPSHOT, str(dest))
    assert again is not None and (dest / f"{SNAPSHOT}.db").samefile(verified)


def test_another_snapshot_or_a_missing_manifest_is_fetched_instead(tmp_path: Path) -> None:
    verified = verified_copy(tmp_path)
    assert share_verified(str(verified), "local-lab-east-20261207T000000Z", str(tmp_path / "b")) is None
    (verified.parent / f"{SNAPSHOT}.json").unlink()
    assert share_verified(str(verified), SNAPSHOT, str(tmp_path / "c")) is None
    assert share_verified(str(tmp_path / "gone.db"), "gone", str(tmp_path / "d")) is None
