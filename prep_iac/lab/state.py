"""What a lab remembers between commands (/var/lib/prep-iac/labs/<name>/lab.json)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class LabState:
    name: str
    subnet: str
    release: str
    hosts: list[str] = field(default_factory=list)
    inventory: str | None = None
    memory_cgroup: str | None = None  # v1 memory cgroup the lab's host cgroups live under
    loop_hosts: list[str] = field(default_factory=list)  # hosts given the controller's loops

    @classmethod
    def load(cls, path: Path) -> LabState | None:
        try:
            return cls(**json.loads(path.read_text()))
        except FileNotFoundError:
            return None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(path)
