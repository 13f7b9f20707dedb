"""Signing manifests with the IEC's SSH key, and checking them, with `ssh-keygen -Y`.

Verification always names the signer set, identity and namespace (`-Y verify`); never
`-Y check-novalidate`, which accepts a signature by any key.
"""

import subprocess
import tempfile
from pathlib import Path

from prep_iac import contract
from prep_iac.errors import PrepError

NAMESPACE = contract.SIGNATURE_NAMESPACE
IDENTITY = contract.SIGNER_IDENTITY


def allowed_signers(signers: list[str], identity: str = IDENTITY,
                    namespace: str = NAMESPACE) -> str:
    """allowed_signers text: each IEC signing key, for our namespace only."""
    lines = []
    for key in signers:
        kind, blob = key.split()[:2]
        lines.append(f'{identity} namespaces="{namespace}" {kind} {blob}')
    return "\n".join(lines) + "\n"


def sign(data: bytes, key: Path, namespace: str = NAMESPACE) -> bytes:
    """The armored SSH signature of `data` by the private key file `key`."""
    with tempfile.TemporaryDirectory(prefix="prep-sign-") as tmp:
        message = Path(tmp, "manifiesto.json")
        message.write_bytes(data)
        proc = subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", str(key), "-n", namespace,
                               str(message)], capture_output=True, stdin=subprocess.DEVNULL,
                              timeout=60, check=False)
        if proc.returncode != 0:
            raise PrepError(f"cannot sign with {key}: {proc.stderr.decode().strip()}",
                            "check the publisher's signing_key (private key, mode 0600)")
        return Path(str(message) + ".sig").read_bytes()


def verify(data: bytes, signature: bytes, signers: list[str], identity: str = IDENTITY,
           namespace: str = NAMESPACE) -> bool:
    with tempfile.TemporaryDirectory(prefix="prep-verify-") as tmp:
        allowed = Path(tmp, "allowed_signers")
        allowed.write_text(allowed_signers(signers, identity, namespace))
        sig = Path(tmp, "sig")
        sig.write_bytes(signature)
        proc = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", identity,
                               "-n", namespace, "-s", str(sig)], input=data,
                              capture_output=True, timeout=60, check=False)
        return proc.returncode == 0
