"""The primary's heartbeat: its wall time written to /drkit/heartbeat every interval.

The mirror carries it to the standbys like any other key, so at a failover the newest heartbeat a standby
holds says up to when it had received the primary's writes: the RPO bound the failover reports (writes
acknowledged after that instant may not have arrived). It runs next to the primary's members (a lab
supervisor program; on a cloud host a systemd unit) and only while its region is primary.

    python -m drkit.failover.heartbeat --endpoints URL[,URL...] [--interval SECONDS]
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from types import FrameType

from drkit.failover import registry

_stopping = False


def _stop(_signum: int, _frame: FrameType | None) -> None:
    global _stopping
    _stopping = True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="drkit-heartbeat", description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", required=True, help="The primary's client URLs, comma separated.")
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    primary = registry.Cluster("primary", tuple(url for url in args.endpoints.split(",") if url))
    signal.signal(signal.SIGTERM, _stop)
    while not _stopping:
        try:
            registry.put(primary, registry.HEARTBEAT_KEY, f"{time.time():.3f}", timeout=1.0)
        except registry.RegistryError as error:
            # The primary is down or cut off: say so once per beat and keep trying; nothing else to do.
            print(f"heartbeat not written: {error}", file=sys.stderr, flush=True)
        time.sleep(args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
