"""A lab host's only link (its veth end, `host0`) down and up again: nothing reaches the host
and nothing leaves it, as when a difusor's cable is pulled. The drill's network_cut fault and
`prep-iac continuidad enlace --cortar-en-laboratorio` cut links this way."""

from __future__ import annotations

from prep_iac.errors import PrepError

INTERFACE = "host0"  # systemd-nspawn's name for the host's end (rootfs.NETWORK_FILE)


def set_link(lab, name: str, up: bool) -> None:
    proc = lab.nsenter(name, ["ip", "link", "set", INTERFACE, "up" if up else "down"],
                       capture_output=True)
    if proc.returncode != 0:
        raise PrepError(f"ip link set {INTERFACE} {'up' if up else 'down'} on {name} failed: "
                        f"{proc.stderr.strip()}", f"check the host: prep-iac lab ssh {name}")
