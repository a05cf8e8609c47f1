"""A backup directory's catalog: only drkit's own snapshots of the stack and region are ever acted on."""

from __future__ import annotations

import json
from pathlib import Path

from ansible_collections.drkit.registry.plugins.module_utils.snapshots import FORMAT, read_catalog


def write_snapshot(directory: Path, snapshot_id: str, started: str, *, stack: str = "local", size: int = 10) -> None:
    (directory / f"{snapshot_id}.db").write_bytes(b"x" * size)
    manifest = {
        "format": FORMAT,
        "written_by": "drkit",
        "id": snapshot_id,
        "stack": stack,
        "region": "lab-east",
        "started_at": started,
        "size": 10,
    }
    (directory / f"{snapshot_id}.json").write_text(json.dumps(manifest))


def test_catalog_lists_newest_first_and_marks_incomplete_copies(tmp_path: Path) -> None:
    write_snapshot(tmp_path, "a", "2026-11-22T10:00:00Z")
    write_snapshot(tmp_path, "b", "2026-11-22T11:00:00Z", size=4)  # truncated at the target
    catalog = read_catalog(str(tmp_path), "local", "lab-east")
    assert [s.id for s in catalog.snapshots] == ["b", "a"]
    assert [s.complete for s in catalog.snapshots] == [False, True]
    assert catalog.newest_complete() is not None and catalog.newest_complete().id == "a"  # type: ignore[union-attr]


def test_files_without_a_drkit_manifest_and_other_stacks_are_unmanaged(tmp_path: Path) -> None:
    write_snapshot(tmp_path, "mine", "2026-11-22T10:00:00Z")
    write_snapshot(tmp_path, "theirs", "2026-11-22T10:00:00Z", stack="prod")
    (tmp_path / "operator-copy.db").write_bytes(b"keep me")
    (tmp_path / "notes.json").write_text('{"written_by": "someone"}')
    catalog = read_catalog(str(tmp_path), "local", "lab-east")
    assert [s.id for s in catalog.snapshots] == ["mine"]
    assert sorted(catalog.unmanaged) == ["notes.json", "operator-copy.db", "theirs.db", "theirs.json"]


def test_a_missing_directory_is_an_empty_catalog(tmp_path: Path) -> None:
    catalog = read_catalog(str(tmp_path / "nowhere"), "local", None)
    assert catalog.snapshots == [] and catalog.unmanaged == []
