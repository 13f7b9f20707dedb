"""Helpers of the web tier's lab tests: cuts by hand in the on-disk contract, HTTPS requests
to lab addresses with the lab CA, waiting for a change (bounded)."""

import base64
import datetime as dt
import http.client
import json
import shlex
import socket
import ssl
import time
from pathlib import Path

from prep_iac.lab import Lab

SERVER_NAME = "prep.lab"


def make_cut(lab: Lab, names: list[str], cut_id: str, files: dict[str, str],
             hora: str = "2021-06-06T20:00:00-05:00", activado: dt.datetime | None = None):
    """Activate a cut by hand on every node, as the activator would: tree, symlink switch by
    rename, estado.json under the lock, then the watchdog (docs/contracts.md)."""
    activado = (activado or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    estado = json.dumps({"corte": cut_id, "corte_fecha_hora": hora, "activado": activado,
                         "periodo_s": 10, "estado": "publicando"})
    lines = ["set -e", f"d=/srv/prep/cortes/{cut_id}", 'mkdir -p "$d"']
    for rel, text in files.items():
        lines += [f'mkdir -p "$(dirname "$d/{rel}")"',
                  f'echo {b64(text)} | base64 -d > "$d/{rel}"']
    lines += ['chmod -R a+rX "$d"',
              f"ln -sfn cortes/{cut_id} /srv/prep/current.tmp",
              "mv -T /srv/prep/current.tmp /srv/prep/current",
              f"echo {b64(estado)} | base64 -d > /srv/prep/.estado.json.tmp",
              "chmod 644 /srv/prep/.estado.json.tmp",
              "flock /srv/prep/.estado.lock mv /srv/prep/.estado.json.tmp /srv/prep/estado.json",
              "/usr/local/sbin/prep-watchdog"]  # one pass now, as after a real cut
    script = "\n".join(lines)
    for name in names:
        # On stdin: a cut's files can be larger than a command line.
        out = lab.run(name, "sudo sh -s", input=script, timeout=60)
        assert out.returncode == 0, f"{name}: {out.stderr}"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def sudo(lab: Lab, name: str, command: str, timeout: float = 60) -> str:
    out = lab.run(name, f"sudo sh -c {shlex.quote(command)}", timeout=timeout)
    assert out.returncode == 0, f"{name}: {command}: {out.stderr}"
    return out.stdout


class Client:
    """HTTP(S) to one lab address with the site's name; the lab CA verifies the certificate."""

    def __init__(self, ca: Path | None):
        self.ca = ca

    def request(self, address: str, method: str, path: str, https: bool = True,
                headers: dict | None = None, timeout: float = 5):
        if https:
            ctx = ssl.create_default_context(cafile=str(self.ca))
            conn = http.client.HTTPSConnection(address, 443, context=ctx, timeout=timeout)
            # Verify against the site's name, not the address we dial.
            conn._tunnel_host = None
            conn.host = address
            sock = socket.create_connection((address, 443), timeout=timeout)
            conn.sock = ctx.wrap_socket(sock, server_hostname=SERVER_NAME)
        else:
            conn = http.client.HTTPConnection(address, 80, timeout=timeout)
        try:
            conn.request(method, path, headers={"Host": SERVER_NAME, **(headers or {})})
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        return resp, body


def wait_until(predicate, timeout: float, step: float = 0.5, what: str = "condition"):
    """Poll predicate() until truthy (returned) or the timeout (AssertionError)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except (OSError, http.client.HTTPException) as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")
