"""A lab of booted Debian hosts on this machine: the API tests, drills and the CLI use.

    lab = Lab(name="x", subnet="10.82.0.0/24", release="bookworm")
    lab.up(difusores=2, publishers=1)
    lab.run("difusor-1", "uname -a")
    lab.down()      # or lab.destroy() to drop the hosts' state too
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prep_iac import sshconf
from prep_iac.errors import PrepError
from prep_iac.inventory.roles import DIFUSOR, ROLE_GROUPS
from prep_iac.lab import (
    aptlists,
    aptproxy,
    base,
    capacity,
    cgroups,
    host,
    keys,
    limits,
    network,
    rootfs,
)
from prep_iac.lab import inventory as lab_inventory
from prep_iac.lab import waivers as lab_waivers
from prep_iac.lab.layout import lab_dir
from prep_iac.lab.spec import LabSpec, role_of
from prep_iac.lab.state import LabState
from prep_iac.paths import INVENTORIES_DIR

Report = Callable[[str, str], None]  # (host or "lab", what is happening)
BOOT_TIMEOUT = 120.0
STOP_TIMEOUT = 20.0


def _quiet(host_name: str, what: str) -> None:
    pass


def require_root() -> None:
    if os.geteuid() != 0:
        raise PrepError("the lab needs root (mounts, bridges, cgroups, systemd-nspawn)",
                        "run it as root, e.g. sudo prep-iac lab up")


class Lab:
    def __init__(self, name: str | None = None, subnet: str | None = None,
                 release: str | None = None, inventory_dir: Path | None = None):
        probe = LabSpec.from_env(name=name, subnet=subnet)
        saved = LabState.load(lab_dir(probe.name) / "lab.json")
        if saved is not None:
            if subnet and subnet != saved.subnet:
                raise PrepError(f"lab {saved.name!r} exists with subnet {saved.subnet}",
                                f"use that subnet, or `prep-iac lab destroy --name {saved.name}` "
                                "first")
            if release and release != saved.release:
                raise PrepError(f"lab {saved.name!r} exists with release {saved.release}",
                                f"`prep-iac lab destroy --name {saved.name}` first")
            subnet, release = saved.subnet, saved.release
        self.spec = LabSpec(name=probe.name, subnet=subnet or probe.subnet,
                            release=release or "bookworm")
        base.check_release(self.spec.release)
        self.name = self.spec.name
        self.dir = lab_dir(self.name)
        self.inventory_dir = Path(inventory_dir) if inventory_dir else INVENTORIES_DIR
        self.state = saved or LabState(name=self.name, subnet=self.spec.subnet,
                                       release=self.spec.release)

    @classmethod
    def fresh(cls, name: str, subnet: str | None = None, release: str | None = None,
              **kw) -> Lab:
        """A Lab for ``name`` after destroying whatever an earlier run left under it."""
        stale = cls(name=name, **kw)
        if stale.exists:
            stale.destroy()
        return cls(name=name, subnet=subnet, release=release, **kw)

    # ---- where things are -------------------------------------------------------------
    @property
    def ssh_dir(self) -> Path:
        return self.dir / "ssh"

    @property
    def private_key(self) -> Path:
        return self.ssh_dir / "id_lab"

    @property
    def iec_sftp_key(self) -> Path:
        return self.ssh_dir / "iec_sftp"

    @property
    def iec_signing_key(self) -> Path:
        return self.ssh_dir / "iec_signing"

    @property
    def ssh_config_path(self) -> Path:
        return self.ssh_dir / "ssh_config"

    @property
    def known_hosts_path(self) -> Path:
        return self.ssh_dir / "known_hosts"

    @property
    def control_dir(self) -> Path:
        return self.dir / "cm"

    @property
    def waivers_path(self) -> Path:
        """The lab's waivers, signed with its IEC key (written with the inventory)."""
        return lab_waivers.path_beside(self.inventory_path)

    @property
    def inventory_path(self) -> Path:
        return self.inventory_dir / self.spec.inventory_file()

    @property
    def hosts(self) -> dict[str, str]:
        """name -> address of every host of the lab (running or not)."""
        return {h: self.spec.address(h) for h in self.state.hosts}

    @property
    def exists(self) -> bool:
        return (self.dir / "lab.json").exists()

    def host_paths(self, name: str) -> rootfs.HostPaths:
        return rootfs.HostPaths(self.dir / "hosts" / name)

    def _check_host(self, name: str) -> None:
        if name not in self.state.hosts:
            raise PrepError(f"lab {self.name!r} has no host {name!r}",
                            f"hosts: {', '.join(self.state.hosts) or 'none (run lab up)'}")

    # ---- processes --------------------------------------------------------------------
    def _launcher(self, name: str) -> int | None:
        try:
            pid = int((self.host_paths(name).dir / "launcher.pid").read_text())
        except (OSError, ValueError):
            return None
        return pid if host.alive(pid) else None

    def is_running(self, name: str) -> bool:
        return self._launcher(name) is not None

    def host_pid(self, name: str) -> int | None:
        """PID (on the controller) of the host's PID 1, or None when it is not running."""
        self._check_host(name)
        return host.leader_pid(self._launcher(name))

    def nsenter(self, name: str, cmd: list[str] | str, **kw) -> subprocess.CompletedProcess:
        """Run a command inside a host's namespaces, without ssh (fault injection, probes)."""
        leader = self.host_pid(name)
        if leader is None:
            raise PrepError(f"{name} is not running", f"prep-iac lab up --name {self.name}")
        if isinstance(cmd, str):
            cmd = ["/bin/sh", "-c", cmd]
        return host.nsenter(leader, cmd, **kw)

    def ssh_command(self, name: str, *command: str) -> list[str]:
        return ["ssh", "-F", str(self.ssh_config_path), name, *command]

    def run(self, name: str, command: str, check: bool = False, timeout: float = 120,
            **kw) -> subprocess.CompletedProcess:
        """Run ``command`` on a host over ssh as prepadmin (prefix sudo yourself)."""
        self._check_host(name)
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        return subprocess.run(self.ssh_command(name, command), check=check, timeout=timeout,
                              **kw)

    # ---- cgroups ----------------------------------------------------------------------
    def _memory_base(self) -> Path | None:
        if self.state.memory_cgroup:
            return Path(self.state.memory_cgroup)
        return None

    def _cgroup_dirs(self, name: str) -> list[Path]:
        return cgroups.dirs_for(self.name, name, self._memory_base())

    def memory(self, name: str) -> int | None:
        """Bytes the host uses now (its memory cgroup, less inactive page cache)."""
        base_dir = self._memory_base()
        return cgroups.memory_bytes(base_dir / "prep-iac" / self.name / name) if base_dir else None

    # ---- lifecycle --------------------------------------------------------------------
    def up(self, difusores: int = 2, publishers: int = 1, timeout: float = BOOT_TIMEOUT,
           report: Report = _quiet, websites: int = 0,
           loop_devices: tuple[str, ...] = ()) -> dict[str, str]:
        """Boot the lab's hosts (those already running stay); returns name -> address.
        Hosts named in `loop_devices` see the controller's loop devices (they can mount an
        image, as a VM could); the others, like most containers, cannot."""
        require_root()
        wanted = self.spec.host_names(difusores, publishers, websites)
        names = sorted(set(self.state.hosts) | set(wanted), key=_host_order)
        self.state.loop_hosts = sorted(set(self.state.loop_hosts) | set(loop_devices))
        network.check_free(self.spec.subnet, self.spec.bridge)
        stopped = [n for n in names if not self.is_running(n)]  # what this run boots
        capacity.check(sum(role_of(n) == DIFUSOR for n in stopped),
                       sum(role_of(n) != DIFUSOR for n in stopped))
        limits.raise_limits()
        report("lab", f"base image ({self.spec.release})")
        lower = base.ensure(self.spec.release, log=lambda msg: report("lab", msg))
        if self.state.memory_cgroup is None:
            mem = cgroups.own_memory_cgroup()
            self.state.memory_cgroup = str(mem) if mem else None
        self.state.hosts = names
        self.state.save(self.dir / "lab.json")  # before the proxy: see aptproxy.stop_if_unused
        report("lab", "apt proxy")
        proxy = aptproxy.ensure()
        try:
            lists = aptlists.fresh(self.spec.release, lower)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            lists = None  # each host then runs its own apt-get update
            report("lab", f"package lists not prefetched ({exc}); hosts will fetch their own")
        keys.ensure_lab_keys(self.ssh_dir)
        self.control_dir.mkdir(mode=0o700, exist_ok=True)

        to_boot: list[str] = []
        try:
            network.ensure_bridge(self.spec.bridge, self.spec.gateway,
                                  self.spec.network.prefixlen)
            to_boot = stopped
            report("lab", f"booting {len(to_boot)} of {len(names)} hosts")
            self._prepare(to_boot, lower, proxy, lists, report)
            for n in names:
                rootfs.write_hosts(self.host_paths(n), n, self.hosts)
            self._write_ssh_files()
            for n in to_boot:
                report(n, "booting")
                self._launch(n)
            self._wait(to_boot, timeout, report)
            self.write_inventory()
            report("lab", "ready")
        except BaseException:
            report("lab", "failed: stopping the hosts this run started")
            for n in to_boot:  # mounted, maybe booted, by this run
                self._teardown_host(n)
            if not any(self.is_running(n) for n in names):
                self._teardown_lab_links()
            raise
        return self.hosts

    def _prepare(self, names: list[str], lower: Path, proxy: str, lists: Path | None,
                 report: Report) -> None:
        """Mount every host's overlay and give new hosts their identity (keys in parallel)."""
        jobs: list[tuple[str, list[subprocess.Popen]]] = []
        admin_pub = keys.public_key(self.private_key)
        for n in names:
            paths = self.host_paths(n)
            if lists is not None and not paths.marker.exists() and not paths.upper.exists():
                aptlists.install(lists, paths.upper)
            rootfs.mount(paths, lower)
            if not paths.marker.exists():
                report(n, "customizing")
                jobs.append((n, rootfs.start_customize(
                    paths, n, self.spec.address(n), self.spec.subnet, self.spec.gateway,
                    proxy, admin_pub)))
        for n, procs in jobs:
            keys.wait_all(procs)
            rootfs.finish_customize(self.host_paths(n))

    def _launch(self, name: str) -> None:
        paths = self.host_paths(name)
        procs = cgroups.create(self._cgroup_dirs(name))
        devices = host.loop_device_nodes() if name in self.state.loop_hosts else []
        cmd = host.nspawn_command(paths.root, self.spec.machine_name(name), name,
                                  self.spec.bridge, devices)
        pid = host.launch(cmd, procs, paths.dir / "console.log")
        (paths.dir / "launcher.pid").write_text(f"{pid}\n")

    def _wait(self, names: list[str], timeout: float, report: Report) -> None:
        if not names:
            return
        deadline = time.monotonic() + timeout

        def one(n: str) -> str:
            launcher = self._launcher(n)
            try:
                state = host.wait_ready(launcher or 0, self.spec.address(n), deadline)
            except TimeoutError as exc:
                raise PrepError(f"{n} was not ready after {timeout:.0f} s (systemd: {exc})",
                                f"see {self.host_paths(n).dir / 'console.log'}") from None
            except RuntimeError:
                tail = _tail(self.host_paths(n).dir / "console.log")
                raise PrepError(f"{n} stopped while booting:\n{tail}",
                                f"see {self.host_paths(n).dir / 'console.log'}") from None
            report(n, f"ready ({state})")
            return state

        with ThreadPoolExecutor(max_workers=min(16, len(names))) as pool:
            futures = [pool.submit(one, n) for n in names]
            errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            raise errors[0]

    def _write_ssh_files(self) -> None:
        known = {n: (a, rootfs.public_host_keys(self.host_paths(n))) for n, a in self.hosts.items()}
        sshconf.write(self.known_hosts_path, keys.known_hosts(known), mode=0o644)
        sshconf.write(self.ssh_config_path, keys.ssh_config(
            self.hosts, self.private_key, self.known_hosts_path, self.control_dir), mode=0o644)

    def lab_hosts(self) -> list[lab_inventory.LabHost]:
        out = []
        for n, a in self.hosts.items():
            ed25519 = [k for k in rootfs.public_host_keys(self.host_paths(n))
                       if k.startswith("ssh-ed25519 ")]
            out.append(lab_inventory.LabHost(n, a, ed25519[0] if ed25519 else ""))
        return out

    def write_inventory(self) -> Path:
        data = lab_inventory.build(
            self.name, self.spec.subnet, self.lab_hosts(),
            lab_inventory.LabKeys(self.private_key, self.iec_sftp_key, self.iec_signing_key))
        lab_inventory.write(self.inventory_path, self.name, self.spec.subnet, data)
        lab_inventory.validate(self.inventory_path)
        lab_waivers.write_signed(self.inventory_path, data["iec"]["process"],
                                 self.iec_signing_key)
        self.state.inventory = str(self.inventory_path)
        self.state.save(self.dir / "lab.json")
        return self.inventory_path

    def stop_host(self, name: str, timeout: float = STOP_TIMEOUT) -> bool:
        """Power a host off (clean poweroff, SIGKILL after ``timeout``); its disk stays."""
        self._check_host(name)
        self._close_ssh(name)
        return self._teardown_host(name, timeout)

    def start_host(self, name: str, timeout: float = BOOT_TIMEOUT,
                   report: Report = _quiet, loop_devices: bool | None = None) -> None:
        """Boot a host that `stop_host` (or a crash) took down; `loop_devices` True or False
        changes whether it sees the controller's loop devices (see `up`), None keeps it."""
        require_root()
        self._check_host(name)
        if self.is_running(name):
            return
        if loop_devices is not None:
            others = set(self.state.loop_hosts) - {name}
            self.state.loop_hosts = sorted(others | ({name} if loop_devices else set()))
            self.state.save(self.dir / "lab.json")
        network.ensure_bridge(self.spec.bridge, self.spec.gateway, self.spec.network.prefixlen)
        try:
            rootfs.mount(self.host_paths(name), base.ensure(self.spec.release))
            self._launch(name)
            self._wait([name], timeout, report)
        except BaseException:
            self._teardown_host(name)
            raise

    def _teardown_host(self, name: str, timeout: float = STOP_TIMEOUT) -> bool:
        paths = self.host_paths(name)
        pid_file = paths.dir / "launcher.pid"
        try:
            launcher = int(pid_file.read_text())
        except (OSError, ValueError):
            launcher = None
        clean = host.stop(launcher, timeout) if launcher else True
        dirs = self._cgroup_dirs(name)
        for d in dirs:  # anything the host left running (a KILLed nspawn's orphans)
            cgroups.kill_all(d)
        for d in dirs:
            deadline = time.monotonic() + 5
            while not cgroups.remove(d) and time.monotonic() < deadline:
                cgroups.kill_all(d)
                time.sleep(0.05)
            cgroups.prune_empty_parents(d)
        rootfs.umount(paths)
        pid_file.unlink(missing_ok=True)
        return clean

    def _close_ssh(self, name: str | None = None) -> None:
        """End the ssh ControlMaster processes of this lab (they outlive every command)."""
        if not self.control_dir.is_dir() or not any(self.control_dir.iterdir()):
            return
        for n in ([name] if name else self.state.hosts):
            subprocess.run(["ssh", "-F", str(self.ssh_config_path), "-O", "exit", n],
                           capture_output=True, check=False, timeout=10)

    def _teardown_lab_links(self) -> None:
        network.remove_bridge(self.spec.bridge)

    def down(self, timeout: float = STOP_TIMEOUT, report: Report = _quiet) -> None:
        """Power every host off and leave no mount, link, cgroup or process behind."""
        require_root()
        self._close_ssh()
        names = list(self.state.hosts)
        with ThreadPoolExecutor(max_workers=max(1, min(16, len(names)))) as pool:
            for n, _ in zip(names, pool.map(lambda n: self._teardown_host(n, timeout), names)):
                report(n, "stopped")
        self._teardown_lab_links()

    def destroy(self, report: Report = _quiet) -> None:
        """`down`, then delete the hosts, keys and inventory (the cached base stays)."""
        self.down(report=report)
        shutil.rmtree(self.dir, ignore_errors=True)
        inv = Path(self.state.inventory) if self.state.inventory else self.inventory_path
        inv.unlink(missing_ok=True)
        waivers = lab_waivers.path_beside(inv)
        for path in (waivers, lab_waivers.signature_path(waivers)):
            path.unlink(missing_ok=True)
        if aptproxy.stop_if_unused():
            report("lab", "last lab gone: apt proxy stopped")

    # ---- status -----------------------------------------------------------------------
    def status(self) -> list[dict]:
        rows = []
        for n, a in self.hosts.items():
            leader = host.leader_pid(self._launcher(n))
            if leader is None:
                state = "stopped"
            else:
                state = host.nsenter(leader, ["systemctl", "is-system-running"],
                                     timeout=10).stdout.strip() or "unknown"
            rows.append({"name": n, "address": a, "state": state,
                         "memory": self.memory(n) if leader else None})
        return rows


def _host_order(name: str) -> tuple[int, int]:
    role, _, number = name.rpartition("-")
    return (list(ROLE_GROUPS).index(role) if role in ROLE_GROUPS else len(ROLE_GROUPS),
            int(number))


def _tail(path: Path, lines: int = 12) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no console log)"


def all_labs() -> list[str]:
    from prep_iac.lab.layout import LABS_ROOT
    return sorted(p.name for p in LABS_ROOT.iterdir() if (p / "lab.json").exists()) \
        if LABS_ROOT.is_dir() else []
