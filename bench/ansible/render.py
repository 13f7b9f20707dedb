"""Render, on the controller, every file our difusor deploy writes, for the Ansible playbook
(bench/ansible/difusor.yml) to ship with `copy`: the same content from the same code.

    .venv/bin/python bench/ansible/render.py INVENTORY.yml OUT_DIR FACTS.json

For each difusor of a prep-iac inventory it writes OUT_DIR/<host>/<absolute path on the
host> (e.g. OUT_DIR/difusor-1/etc/nftables.conf) with exactly the text our components
render (prep_iac.components.*: their own functions and templates), and returns the host
variables the playbook needs. The host facts our deploy reads at run time (OpenSSH version,
host keys, sshd ports, what the container forbids) are given in FACTS.json, gathered from
the hosts beforehand by bench/deploy.py (`probe_facts`).

Two files (upsd.users, upsmon.conf) carry the upsmon password: they are rendered with the
literal `{{ ups_password }}` in its place and shipped with `template`, the password coming
from Ansible's `password` lookup (kept on the controller), as an Ansible user would do it;
our deploy instead makes the password on the host and reads it back.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import jinja2

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from prep_iac import contract, paths
from prep_iac.components import (
    activator,
    distro,
    firewall,
    hardening,
    ids,
    logs,
    nginx,
    onhost,
    sftp_jail,
    ssh,
    tls,
    ups,
    waf,
    watchdog,
)
from prep_iac.components.admins import SUDOERS
from prep_iac.components.common import render
from prep_iac.contract import ADMIN_GROUP
from prep_iac.facts import container as container_fact
from prep_iac.facts import sshd as sshd_facts
from prep_iac.inventory.hostconfig import HostConfig
from prep_iac.inventory.loader import load_inventory
from prep_iac.lab import ca as lab_ca
from prep_iac.onhost.common import settings_json
from prep_iac.onhost.publisher.signing import allowed_signers

PASSWORD_PLACEHOLDER = "{{ ups_password }}"

# What bench/deploy.py runs on each host (sudo sh -s) before Ansible's timed runs: the same
# probes our deploy makes as pyinfra facts, inside its own timed run.
PROBE_SCRIPT = "\n".join([
    "echo '==version'", sshd_facts.OpenSshVersion().command(),
    "echo '==hostkeys'", sshd_facts.SshHostKeys().command(),
    "echo '==sshd'", "sshd -T 2>/dev/null | grep -i '^port ' || true",
    "echo '==container'", container_fact.COMMAND,
])


def parse_probe(text: str) -> dict:
    """The probe script's output -> {"openssh": [9, 2], "host_keys": [...], "ssh_ports":
    [22], "forbids": {...}}."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("==") and line[2:] in ("version", "hostkeys", "sshd", "container"):
            current = line[2:]
            sections[current] = []
        elif current:
            sections[current].append(line)
    version = sshd_facts.parse_openssh_version("\n".join(sections.get("version", [])))
    keys = sshd_facts.SshHostKeys().process(sections.get("hostkeys", []))
    ports = sorted({int(p) for p in sshd_facts.parse_sshd_t(sections.get("sshd", [])).get(
        "port", []) if p.isdigit()} | {22})
    forbids = container_fact.interpret(sections.get("container", []))["forbids"]
    return {"openssh": list(version) if version else None, "host_keys": keys,
            "ssh_ports": ports, "forbids": forbids}


def _template(component: str, name: str, **ctx) -> str:
    """As pyinfra's files.template renders (StrictUndefined, trailing newline kept)."""
    text = Path(paths.template(component, name)).read_text(encoding="utf-8")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.from_string(text).render(**ctx)


def _file(component: str, name: str) -> bytes:
    return Path(paths.template(component, name)).read_bytes()


def host_files(cfg: HostConfig, facts: dict) -> dict[str, str | bytes]:
    """{absolute path on the host: content}, as our components would write them."""
    d = distro.lookup("debian", 12)
    forbids = facts["forbids"]
    out: dict[str, str | bytes] = {}

    # admins
    out[SUDOERS] = render("hardening", "sudoers.j2", group=ADMIN_GROUP)

    # ssh
    plan = ssh.host_key_plan(facts["host_keys"], ssh.pinned_key_type(cfg.host.host_key))
    out[f"{d['sshd_dropin_dir']}/{ssh.DROPIN}"] = ssh.dropin(tuple(facts["openssh"]),
                                                             plan["keep"])
    # hardening
    out[f"{d['sysctl_dir']}/{hardening.NET_SYSCTL}"] = render("sysctl",
                                                              f"{hardening.NET_SYSCTL}.j2")
    if "kernel_sysctl" not in forbids:
        out[f"{d['sysctl_dir']}/{hardening.KERNEL_SYSCTL}"] = render(
            "sysctl", f"{hardening.KERNEL_SYSCTL}.j2")
    out["/etc/apt/apt.conf.d/52prep-unattended-upgrades"] = render(
        "hardening", "52prep-unattended-upgrades.j2", origins=d["unattended_origins"])
    out["/etc/apt/apt.conf.d/20auto-upgrades"] = render("hardening", "20auto-upgrades.j2")
    out[f"{d['journald_dropin_dir']}/60-prep.conf"] = render("hardening", "journald.conf.j2")
    if "auditd" not in forbids:
        out["/etc/audit/rules.d/60-prep.rules"] = render("hardening", "audit.rules.j2")

    # firewall
    out[d["nftables_conf"]] = firewall.ruleset(cfg, facts["ssh_ports"])

    # sftp_jail
    iec = cfg.iec
    out[f"{sftp_jail.KEYS_DIR}/{iec.jail_user}"] = sftp_jail.authorized_keys(iec.sftp_keys)
    out[sftp_jail.APPLY] = _file("sftp", "prep-sshd-apply.sh")
    out[sftp_jail.STAGED] = _template("sftp", f"{sftp_jail.DROP_IN_NAME}.j2",
                                      sftp_group=contract.SFTP_GROUP, jail=contract.JAIL_ROOT,
                                      keys_dir=sftp_jail.KEYS_DIR, sources=list(iec.sources))

    # host programs (onhost) and the activator
    for rel in onhost.library_files():
        out[f"{contract.ONHOST_LIB}/prep_iac/{rel}"] = (paths.PACKAGE_DIR / rel).read_bytes()
    for name, module in onhost.PROGRAMS.items():
        out[f"{onhost.SBIN}/{name}"] = onhost.launcher(module)
    out[contract.ACTIVATOR_CONFIG] = settings_json(activator.settings(iec))
    out[contract.ACTIVATOR_SIGNERS] = allowed_signers(list(iec.signers))
    for unit in activator.UNITS:
        out[f"/etc/systemd/system/{unit}"] = _template("activator", f"{unit}.j2",
                                                       **activator.unit_context(iec))

    # tls (lab-ca: the lab CA beside the inventory, as our deploy does)
    out[f"{tls.TLS_DIR}/ffdhe2048.pem"] = _file("tls", "ffdhe2048.pem")
    if cfg.host.tls is not None and cfg.host.tls.mode == "lab-ca":
        cert, key = lab_ca.ensure_cert(lab_ca.ca_dir(cfg.inventory_path), cfg.name,
                                       lab_ca.cert_names(cfg))
    elif cfg.host.tls is not None and cfg.host.tls.mode == "files":
        cert, key = Path(cfg.host.tls.cert), Path(cfg.host.tls.key)
    else:
        raise SystemExit(f"{cfg.name}: the bench playbook covers tls modes lab-ca and files")
    out[tls.FULLCHAIN] = Path(cert).read_bytes()
    out[tls.PRIVKEY] = Path(key).read_bytes()

    # nginx
    ctx = nginx.context(cfg, http2_on=d["nginx_http2_directive"])
    for tpl, rel in nginx.PAGES.items():
        out[f"{contract.WEB_ROOT}/{rel}"] = _template("portal", tpl, **ctx)
    out[nginx.APPLY] = _file("nginx", "prep-nginx-apply.sh")
    for tpl, rel in nginx.CONFIG_FILES.items():
        out[f"{nginx.STAGING}/{rel}"] = _template("nginx", tpl, **ctx)

    # waf
    out[waf.MAPS] = waf.maps()
    out[waf.SNIPPET] = waf.snippet()

    # ids
    out.update(ids.contents(cfg, d["ssh_service"], facts["ssh_ports"]))

    # watchdog
    period = iec.period_s
    settings = watchdog.watchdog_config(cfg)
    out[contract.WATCHDOG_CONFIG] = settings_json(settings)
    out[settings.notice_template] = _template("watchdog", "aviso.html.j2", **nginx.context(cfg))
    out[f"{watchdog.UNIT_DIR}/prep-watchdog.service"] = _template(
        "watchdog", "prep-watchdog.service.j2", interval_s=contract.watchdog_interval_s(period),
        period_s=period, **watchdog.SERVICE_CONTEXT)

    # logs
    lctx = logs.context(cfg)
    out[logs.KEEP_SCRIPT] = _template("logrotate", "prep-logs-keep.sh.j2", **lctx)
    out[logs.LOGROTATE_FILE] = _template("logrotate", "nginx.j2", **lctx)

    # ups
    u = getattr(cfg.host, "ups", None)
    if u is not None:
        nut_dir, port = d["nut_dir"], ups.driver_port(u)
        out[f"{nut_dir}/nut.conf"] = render("nut", "nut.conf.j2", mode="standalone")
        out[f"{nut_dir}/ups.conf"] = render("nut", "ups.conf.j2", ups=u, port=port)
        out[f"{nut_dir}/upsd.conf"] = render("nut", "upsd.conf.j2")
        out[f"{nut_dir}/upsd.users"] = render("nut", "upsd.users.j2", user=ups.UPSMON_USER,
                                              password=PASSWORD_PLACEHOLDER)
        out[f"{nut_dir}/upsmon.conf"] = render(
            "nut", "upsmon.conf.j2", ups=u, user=ups.UPSMON_USER,
            password=PASSWORD_PLACEHOLDER, notify_cmd=ups.NOTIFY, events=ups.EVENTS,
            shutdown_cmd="/sbin/shutdown -h +0")
        if u.driver == "dummy-ups":  # created once on the host, never reset by a deploy
            out[f"{nut_dir}/{port}"] = render("nut", "dummy.seq.j2")
        out[ups.NOTIFY] = render("nut", "prep-ups-notify.j2", ups_name=u.name,
                                 webhook=u.notify_webhook or "", mail=u.notify_mail or "")
    return out


def host_vars(cfg: HostConfig, facts: dict) -> dict:
    """What the playbook needs besides the files: accounts, names, the container's limits."""
    d = distro.lookup("debian", 12)
    u = getattr(cfg.host, "ups", None)
    return {
        "admin_accounts": [{"name": a.name, "keys": list(a.keys)}
                           for a in cfg.admins.accounts],
        "jail_user": cfg.iec.jail_user,
        "skip_kernel_sysctl": "kernel_sysctl" in facts["forbids"],
        "skip_timesync": "timesync" in facts["forbids"],
        "skip_auditd": "auditd" in facts["forbids"],
        "distro": {k: d[k] for k in ("upgrades_packages", "unwanted_packages",
                                     "fail2ban_packages", "nut_packages", "nginx_packages",
                                     "logrotate_packages", "timesync_package",
                                     "timesync_service", "audit_packages")},
        "ups_name": u.name if u is not None else "",
        "ups_dummy": bool(u is not None and u.driver == "dummy-ups"),
        "ups_port": ups.driver_port(u) if u is not None else "",
    }


def render_all(inventory_path: Path, out_dir: Path, facts: dict[str, dict]) -> dict[str, dict]:
    """Write every difusor's files under out_dir; returns {host: host vars}."""
    inventory = load_inventory(inventory_path)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    result = {}
    for name in inventory.difusores:
        cfg = HostConfig(inventory, Path(inventory_path).resolve(), name, "difusor")
        for dest, content in host_files(cfg, facts[name]).items():
            target = out_dir / name / dest.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content if isinstance(content, bytes) else content.encode())
        result[name] = host_vars(cfg, facts[name])
    return result


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__.split("\n\n")[1])
    facts = json.loads(Path(sys.argv[3]).read_text())
    print(json.dumps(render_all(Path(sys.argv[1]), Path(sys.argv[2]), facts), indent=1))
