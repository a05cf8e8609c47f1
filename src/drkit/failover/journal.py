"""A failover's journal: which operation, towards which region, under which epoch, and the steps done.

Written before the first change and after every step, so a run interrupted at any point (SIGKILL, a lost
terminal) is resumed by running the same command again: steps already done are skipped, the epoch number
is the one first chosen (never bumped twice). A different command is refused while a journal is open.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

JOURNAL = "failover-journal.json"


@dataclass
class Journal:
    path: Path
    operation: str
    source: str
    target: str
    epoch: int
    started: float = field(default_factory=time.time)
    done: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, state_dir: Path) -> Journal | None:
        path = state_dir / JOURNAL
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise JournalError(
                f"the failover journal {path} is unreadable ({error}): move it aside to start over"
            ) from None
        return cls(path=path, **{key: raw[key] for key in raw if key != "path"})

    def describe(self) -> str:
        steps = ", ".join(self.done) or "nothing yet"
        return f"{self.operation} {self.source} -> {self.target} (epoch {self.epoch}), done: {steps}"

    def record(self, step: str) -> None:
        if step not in self.done:
            self.done.append(step)
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {key: value for key, value in asdict(self).items() if key != "path"}
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        partial.replace(self.path)  # a crash mid-write leaves the previous journal whole

    def close(self) -> Path:
        """The operation finished: keep the journal as history beside the state, under its start time."""
        stamp = datetime.fromtimestamp(self.started, UTC).strftime("%Y%m%dT%H%M%SZ")
        done = self.path.with_name(f"failover-{stamp}-{self.operation}.json")
        self.path.replace(done)
        return done


class JournalError(Exception):
    pass
