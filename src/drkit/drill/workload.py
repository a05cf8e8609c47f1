"""What a drill runs against the lab while it breaks it: a ledger of acknowledged writes, and service
instances that register under an ephemeral prefix with leases and keep them alive, as real ones do."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from drkit.sandbox import etcd_client
from drkit.sandbox.etcd_client import EtcdUnavailableError


@dataclass(frozen=True)
class Ack:
    key: str
    value: str
    revision: int
    at: float  # time.monotonic() when the write was acknowledged


@dataclass
class Ledger:
    """Writes `<prefix><seq>` through the endpoint at a steady rate and remembers every acknowledgement.
    A failed write is retried with the next sequence number; only acknowledged writes count."""

    url: str
    prefix: str = "/drill/ledger/"
    rate: float = 20.0
    acks: list[Ack] = field(default_factory=list)
    failures: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="drill-ledger", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        sequence = 0
        interval = 1.0 / self.rate
        while not self._stop.is_set():
            sequence += 1
            key, value = f"{self.prefix}{sequence:08d}", f"{sequence}:{time.time():.6f}"
            try:
                revision = etcd_client.put(self.url, key, value, timeout=1.0)
                self.acks.append(Ack(key, value, revision, time.monotonic()))
            except EtcdUnavailableError:
                self.failures += 1
            self._stop.wait(interval)

    def first_ack_after(self, moment: float) -> Ack | None:
        return next((ack for ack in list(self.acks) if ack.at > moment), None)


@dataclass
class Instance:
    """One service instance: a registration key bound to its own lease, kept alive every TTL/3. When a
    keep-alive finds the lease gone it registers again with a new lease, as registration clients do."""

    url: str
    key: str
    ttl: int
    lease: int = 0
    registrations: int = 0
    alive: bool = True

    def register(self) -> None:
        self.lease = etcd_client.grant_lease(self.url, self.ttl)
        etcd_client.put(self.url, self.key, "up", lease=self.lease)
        self.registrations += 1

    def heartbeat(self) -> None:
        try:
            if etcd_client.keep_alive(self.url, self.lease) == 0:
                self.register()
        except EtcdUnavailableError:
            pass  # the cluster is down: try again on the next beat


@dataclass
class Registry:
    instances: list[Instance]
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @classmethod
    def register(cls, url: str, prefix: str, count: int, ttl: int) -> Registry:
        instances = [Instance(url, f"{prefix}drill/instance-{index}", ttl) for index in range(count)]
        for instance in instances:
            instance.register()
        return cls(instances)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="drill-registry", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        beat = max(0.5, self.instances[0].ttl / 3) if self.instances else 1.0
        while not self._stop.wait(beat):
            for instance in self.instances:
                if instance.alive:
                    instance.heartbeat()
