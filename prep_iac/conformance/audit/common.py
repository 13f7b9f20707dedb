"""What every audit check shares: the target, its options, and how a result is made."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from prep_iac.conformance.audit.http import Client, Response
from prep_iac.conformance.audit.registry import AUDIT_CHECKS
from prep_iac.conformance.model import CheckResult, Command, clip
from prep_iac.contract import DEFAULT_PERIOD_S, ESTADO_FILE

# estado.json lives at the root of the PREP path, beside the cut it describes.
ESTADO = PurePosixPath(ESTADO_FILE).name
CUT_HEADER = "X-PREP-Corte"


@dataclass
class Target:
    url: str  # the PREP path, ending in "/"
    host_label: str  # the report's column
    client: Client
    context: ssl.SSLContext
    portal_origins: list[str] | None = None  # declared (registry or --portal); None: unknown
    signers: list[str] = field(default_factory=list)  # IEC signing public keys
    manifest: Path | None = None
    signature: Path | None = None
    sample: int | None = None
    seed: int = 0
    ssh: tuple[str, int] | None = None
    host_key: str | None = None  # pinned in the registry
    link_mbps: int | None = None  # declared
    rate_limits: tuple[int, int] | None = None  # declared (requests_per_s, burst)
    period_s: int = DEFAULT_PERIOD_S  # the inventory's, when -i names one
    expected_ports: set[int] = field(default_factory=set)
    cache: dict = field(default_factory=dict)  # responses several checks read

    @property
    def hostname(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def https(self) -> bool:
        return urlsplit(self.url).scheme == "https"

    def page(self) -> Response:
        if "page" not in self.cache:
            self.cache["page"] = self.client.get(self.url)
        return self.cache["page"]

    def estado(self) -> Response:
        if "estado" not in self.cache:
            self.cache["estado"] = self.client.get(self.url + ESTADO)
        return self.cache["estado"]


def result(target: Target, check: str, status: str, detail: str = "",
           evidence: list[Command] | None = None) -> CheckResult:
    requirements, title = AUDIT_CHECKS[check]
    return CheckResult(check=check, requirements=list(requirements), host=target.host_label,
                       status=status, title=title, detail=detail, evidence=evidence or [])


def http_evidence(resp: Response, body: bool = False, limit: int = 600) -> Command:
    text = resp.head_text()
    if resp.redirects:
        text = "\n".join(f"→ {s} {loc}" for s, loc in resp.redirects) + "\n" + text
    if body:
        text += "\n\n" + clip(resp.body.decode("utf-8", "replace"), limit)
    return Command(f"GET {resp.url}", resp.status, text)
