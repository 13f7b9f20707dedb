"""Run a pyinfra deploy file on a prep-iac inventory, as `pyinfra` itself would, and read
its results table: what the CLI, the tests and the drill all use."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from prep_iac import children
from prep_iac.paths import INVENTORIES_DIR, REPO_DIR

PYINFRA = str(Path(sys.executable).with_name("pyinfra"))
ENV_SHIM = INVENTORIES_DIR / "env.py"
_TOTAL = re.compile(r"Grand total\s+(\d+|-)\s+(\d+|-)\s+(\d+|-)\s+(\d+|-)")


# A deploy's time grows with its hosts where they share the controller's cores (the lab):
# the first run took 211 s for 10 lab hosts and 470 s for 30 on a quiet 2-core machine,
# about 16 s a host, and up to three times that under load. A fixed limit that fits 10
# hosts stops a sound 50-host deploy halfway.
DEPLOY_TIMEOUT_S = 900
DEPLOY_TIMEOUT_PER_HOST_S = 60


def deploy_timeout(hosts: int) -> float:
    """Seconds a deploy of `hosts` hosts may take before it is stopped as hung."""
    return max(DEPLOY_TIMEOUT_S, DEPLOY_TIMEOUT_PER_HOST_S * hosts)


@dataclass
class DeployResult:
    returncode: int
    changed: int  # operations that changed something, over all hosts
    unchanged: int
    errors: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.errors == 0

    def tail(self, lines: int = 25) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


def parse_results(output: str) -> tuple[int, int, int]:
    """(changed, errors, unchanged) from pyinfra's results table ("Grand total" row)."""
    match = _TOTAL.search(output)
    if not match:
        return 0, 0, 0
    _, success, error, no_change = (0 if v == "-" else int(v) for v in match.groups())
    return success, error, no_change


def pyinfra_command(deploy_file: str | Path, limit: str | None = None, *, dry: bool = False,
                    yes: bool = True, extra_args: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The pyinfra command line for a deploy file on the inventory shim: the one way prep-iac
    builds it (`prep-iac deploy`, the drill, the lab tests and the benches all run it)."""
    path = Path(deploy_file)
    if not path.is_absolute():
        path = REPO_DIR / path
    cmd = [PYINFRA if Path(PYINFRA).exists() else "pyinfra", str(ENV_SHIM), str(path)]
    cmd += ["--limit", limit] if limit else []
    cmd += ["--dry"] if dry else []
    cmd += ["-y"] if yes else []
    return cmd + list(extra_args)


def run_deploy(inventory: str | Path, deploy_file: str | Path, limit: str | None = None,
               extra_env: dict | None = None, timeout: float | None = DEPLOY_TIMEOUT_S,
               extra_args: list[str] | tuple[str, ...] | None = None, *, dry: bool = False,
               yes: bool = True, capture: bool = True,
               cwd: str | Path | None = REPO_DIR) -> DeployResult:
    """Run pyinfra_command() with PREP_INVENTORY set to `inventory`.

    capture=True (the drill, the tests): pyinfra's output is kept and its results table read.
    capture=False (`prep-iac deploy`): pyinfra talks to the terminal itself (live output,
    its confirmation prompt without -y); only the exit code comes back, in `returncode`.
    """
    cmd = pyinfra_command(deploy_file, limit, dry=dry, yes=yes, extra_args=extra_args or ())
    env = {**os.environ, "PREP_INVENTORY": str(Path(inventory).resolve()), **(extra_env or {})}
    if not capture:
        proc = children.run(cmd, cwd=cwd, env=env, timeout=timeout)
        return DeployResult(proc.returncode, 0, 0, 0, "")
    proc = children.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                        timeout=timeout)
    output = proc.stdout + proc.stderr
    changed, errors, unchanged = parse_results(output)
    return DeployResult(proc.returncode, changed, unchanged, errors, output)
