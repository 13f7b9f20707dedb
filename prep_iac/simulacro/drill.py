"""The accelerated election night: cuts at their times, pushed by the real publisher,
activated by the real difusores, watched from outside, with faults injected on schedule."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from prep_iac import children
from prep_iac.contract import DEFAULT_PERIOD_S, JOURNAL_PUBLISHER, MISSED_PERIODS
from prep_iac.errors import PrepError
from prep_iac.inventory import load_inventory
from prep_iac.pentest.continuity import journal_command, journal_entries
from prep_iac.simulacro import faults as F
from prep_iac.simulacro import handover, stages
from prep_iac.simulacro.http import Target
from prep_iac.simulacro.observer import Observer
from prep_iac.simulacro.plan import Plan
from prep_iac.simulacro.visitors import Visitors

NIGHT_STEP = dt.timedelta(seconds=DEFAULT_PERIOD_S)  # the IEC's period; the drill compresses it
CONFORMANCE_NICE = 10  # the checks yield the controller's CPU to the night they check
CONFORMANCE_S = 75  # what a verify and the audits take here, run while cuts keep flowing
# The verify of 50 lab difusores and a publisher, beside their 50 audits and the night, did
# not end in 1,020 s (20 s a host) at load 150; the closing one was at its 27th host at 16 min.
CONFORMANCE_TIMEOUT_S, CONFORMANCE_TIMEOUT_PER_HOST_S = 600, 40
# Verify and audits running at once, beside the night. All 51 at once at 50 difusores took
# the load to 200 and the publisher fell behind: 39 of the 50 opening audits saw the notice.
CONFORMANCE_AT_ONCE = 8


def conformance_periods(period_s: int, difusores: int = 1) -> int:
    """Periods kept free of faults at the opening and the close, for the conformance runs:
    the verify and one audit per difusor go CONFORMANCE_AT_ONCE at a time, in waves."""
    waves = -(-(difusores + 1) // CONFORMANCE_AT_ONCE)
    return -(-CONFORMANCE_S * waves // period_s) + 1


@dataclass
class Options:
    difusores: int = 2
    ha: bool = False
    period_s: int = 6
    desde: str = "18:00"
    hasta: str = "02:00"
    plan: Plan = field(default_factory=Plan)
    quiet: int | None = None  # the closing run starts this many periods from the end;
    # None: conformance_periods() of this period and these difusores
    out: Path = Path("simulacro-out")
    keep: bool = False
    actas: int = 4000
    seed: int = 7

    def __post_init__(self):
        if self.quiet is None:
            self.quiet = conformance_periods(self.period_s, self.difusores)


def night_times(desde: str, hasta: str, date: dt.date = dt.date(2021, 6, 6)) -> list[dt.datetime]:
    """Cut times from `desde` to `hasta` (past midnight when earlier), every 10 minutes."""
    start = dt.datetime.combine(date, dt.time.fromisoformat(desde))
    end = dt.datetime.combine(date, dt.time.fromisoformat(hasta))
    if end <= start:
        end += dt.timedelta(days=1)
    times, t = [], start
    while t <= end:
        times.append(t)
        t += NIGHT_STEP
    return times


def faulty_cut(injectors: list[F.Injector], period: int) -> bool:
    """Whether a fault delivers the cut of `period` itself: that cut is not expected served."""
    return any(inj.delivers_cut(period) for inj in injectors)


def hand_over(injectors: list[F.Injector], period: int, folder: Path, drop) -> None:
    """The period's cut to the difusores: by the fault that delivers it, or else dropped at
    the publisher by `drop(folder)` and then every injector's after_drop hook."""
    deliverer = next((inj for inj in injectors if inj.delivers_cut(period)), None)
    if deliverer is not None:
        deliverer.deliver(folder)
        return
    drop(folder)
    for inj in injectors:
        inj.after_drop(period)


class Drill:
    def __init__(self, lab, inventory_path: Path, options: Options, log=print):
        self.lab = lab  # None when the drill runs on real hosts of an inventory
        self._ssh_config: Path | None = None
        self.inventory_path = inventory_path
        self.inventory = load_inventory(inventory_path)
        self.opts = options
        self.period_s = options.period_s
        self.log = log
        self.out = options.out
        self.difusor_names = list(self.inventory.difusores)
        self.publisher = next(iter(self.inventory.publishers))
        self.cuts: list[dict] = []
        self._publisher_samples: list[dict] = []
        self.ha_pair = [n for n, d in self.inventory.difusores.items() if d.ha]
        self.floating_address = (self.inventory.difusores[self.ha_pair[0]].ha.floating_address
                                 if self.ha_pair else None)
        ca = inventory_path.with_name(inventory_path.stem + ".lab-ca") / "ca.pem"
        self.ca_file = str(ca) if ca.exists() else None
        self.targets = {n: _target(n, d, self.ca_file, on_lab=lab is not None)
                        for n, d in self.inventory.difusores.items()}
        scheme = "https" if self.ca_file else "http"
        watched = list(self.targets.values())
        if self.floating_address:
            watched.append(_floating_target(self.floating_address, self.ca_file, scheme))
        self.observer = Observer(watched, interval=0.25)
        self.visitors = Visitors(list(self.targets.values()), rate_per_s=6.0,
                                 max_requests=50_000, seed=options.seed)
        self.registry = self._registry()
        self.injectors = [F.injector_for(self, f) for f in options.plan.faults]
        self.integrity: list[dict] = []
        self._handed_over: Path | None = None  # the last cut the publisher received
        self._election = None  # made by prepare()
        self.prep_closes: float | None = None  # set by after_close()
        self.close_watch_until: float | None = None

    def _registry(self):
        from prep_iac.publish.registry import from_inventory

        return from_inventory(self.inventory, state_dir=str(self.out / "iec-estado"))

    def reload_inventory(self) -> None:
        """After the night's calendar is set: what the drill itself signs (a fault's cut)
        is production material from the opening, as the publisher's is."""
        self.inventory = load_inventory(self.inventory_path)
        self.registry = self._registry()

    # ---- helpers the injectors use ------------------------------------------------------
    def ssh_command(self, host: str, command: str) -> list[str]:
        """ssh as the inventory's admin: through the lab's ssh_config, or one written from
        the inventory (pinned host keys, multiplexed) for real hosts."""
        if self.lab is not None:
            return self.lab.ssh_command(host, command)
        if self._ssh_config is None:
            from prep_iac.conformance.sshconfig import write_ssh_config

            self._ssh_config = write_ssh_config(self.inventory, self.inventory_path,
                                                self.out / "ssh_config")
        return ["ssh", "-F", str(self._ssh_config), self.inventory.hosts()[host].address, command]

    def run(self, host: str, command: str, text: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(self.ssh_command(host, command), capture_output=True, text=text,
                              timeout=60, check=False, stdin=subprocess.DEVNULL)

    def publisher_states(self, difusor: str) -> list[dict]:
        return [{"at": s["at"], **s["difusores"][difusor]} for s in self._publisher_samples
                if difusor in s["difusores"]]

    def cut_of_period(self, period: int) -> dict | None:
        return next((c for c in self.cuts if c["period"] == period), None)

    # ---- the night ----------------------------------------------------------------------
    def prepare(self) -> None:
        """The night's images, made before the clock starts."""
        from prep_iac.corte import Election, prepare_images

        self._election = Election(seed=self.opts.seed, actas=self.opts.actas)
        prepare_images(self._election, self.out / "cortes")

    def night(self, start_at: float | None = None, progress=None,
              at_period: dict | None = None) -> None:
        """Every cut at its time, the first at `start_at` (wall clock; now by default), after
        prepare(). `at_period[k]` is called right after period k's cut is handed over (the
        conformance runs start there, while cuts keep flowing)."""
        from prep_iac.corte import write_cut

        election, cuts_dir = self._election, self.out / "cortes"
        times = night_times(self.opts.desde, self.opts.hasta)
        tz = _zone(self.inventory.iec.calendar.timezone)
        self.observer.start()
        sampler = threading.Thread(target=self._sample_publisher_until_stopped, daemon=True,
                                   name="publisher-list")
        self._sampling = threading.Event()
        sampler.start()
        started = start_at or time.time()
        try:
            for period, night_at in enumerate(times):
                wall = started + period * self.period_s
                _sleep_until(wall)
                for inj in self.injectors:
                    inj.before_cut(period)
                folder = write_cut(election, night_at.replace(tzinfo=tz), cuts_dir)
                produced = time.time()
                cut = {"period": period, "id": folder.name, "night_time":
                       night_at.strftime("%H:%M"), "produced_at": produced,
                       "corrupt": faulty_cut(self.injectors, period), "delays": {}}
                self.cuts.append(cut)
                hand_over(self.injectors, period, folder, self.drop)
                cut["handed_over_s"] = round(time.time() - produced, 2)
                if period == 1:
                    self.visitors.start()  # once there is a cut to visit
                if at_period and period in at_period:
                    at_period[period]()
                if progress:
                    progress(period, len(times), folder.name, self.observer)
            _sleep_until(started + len(times) * self.period_s + self.period_s)
            for inj in self.injectors:
                inj.after_night()
            self.after_close()
            self.sample_publisher()
        finally:
            self._sampling.set()
            sampler.join(timeout=30)
            self.visitors.stop()
            self.observer.stop()
        self.measure_delays()

    def after_close(self) -> None:
        """The PREP's close: at calendar.prep_closes the publisher signs the last cut as
        final; the difusores must keep serving it, marked final, for more than
        MISSED_PERIODS periods. The drill watches until then (the window is still open)."""
        if self.lab is None:
            return  # real hosts drill before their opening: there is no close to watch
        calendar = load_inventory(self.inventory_path).iec.calendar
        self.prep_closes = calendar.prep_closes_at.timestamp()
        self.close_watch_until = self.prep_closes + (MISSED_PERIODS + 1) * self.period_s
        if self.close_watch_until >= calendar.publication_ends_at.timestamp():
            raise PrepError("the drill's publication window ends before the close can be "
                            "watched for more than 3 periods", "a bug in the drill's calendar")
        _sleep_until(self.close_watch_until)

    def drop(self, folder: Path) -> None:
        """Hand a cut to the publisher as the PREP system would: copied in under a dot
        name, then renamed, so the publisher never sees half a cut. Only what changed since
        the last cut handed over travels (handover.py)."""
        drop = self.inventory.publishers[self.publisher].drop_dir
        previous = self._handed_over
        send, remove = handover.delta(previous, folder)
        script = handover.remote_script(drop, folder.name, previous and previous.name, remove)
        tar = io.BytesIO()
        handover.write_tar(folder, send, tar)
        proc = subprocess.run(self.ssh_command(self.publisher, script), input=tar.getvalue(),
                              capture_output=True, timeout=120, check=False)
        if proc.returncode != 0:
            raise PrepError(f"handing cut {folder.name} to {self.publisher} failed: "
                            f"{proc.stderr.decode(errors='replace').strip()[-500:]}",
                            "check the publisher's drop folder and disk (prep-iac lab ssh)")
        self._handed_over = folder

    def _sample_publisher_until_stopped(self) -> None:
        """The IEC's public list, four times a period: a suspension that lasts one period
        (three strikes, then the first push after the network returns) is still seen."""
        while not self._sampling.wait(max(1.0, self.period_s / 4)):
            self.sample_publisher()

    def sample_publisher(self) -> None:
        state_dir = self.inventory.publishers[self.publisher].state_dir
        proc = self.run(self.publisher, f"sudo cat {state_dir}/lista/difusores.json")
        try:
            data = json.loads(proc.stdout)
        except ValueError:
            return
        self._publisher_samples.append(
            {"at": time.time(), "difusores": {d["nombre"]: d for d in data.get("difusores", [])}})

    def measure_delays(self) -> None:
        for cut in self.cuts:
            for name in self.difusor_names:
                seen = self.observer.first_seen(name, cut["id"], after=cut["produced_at"] - 1)
                cut["delays"][name] = None if seen is None else round(seen - cut["produced_at"], 2)
        if self.cuts:
            proc = self.run(self.publisher, journal_command(JOURNAL_PUBLISHER,
                                                            self.cuts[0]["produced_at"]))
            pushed = stages.pushes(journal_entries(proc.stdout))
            for cut in self.cuts:
                cut["stages"] = stages.stages(cut, pushed.get(cut["id"], []))

    # ---- what the verdicts ask -------------------------------------------------------
    def excused(self, difusor: str, period: int) -> bool:
        return any(inj.excuses(difusor, period) for inj in self.injectors)

    def conformance(self, waivers: Path | None, tag: str) -> dict:
        """`prep-iac verify` of every host and `prep-iac audit` of every difusor, at once.
        At a lower priority than the night (`nice`): on a controller that also runs the lab,
        the checks wait for the cuts, not the other way round."""
        prep = ["nice", "-n", str(CONFORMANCE_NICE), sys.executable, "-m", "prep_iac.cli"]
        verify_out = self.out / f"verify-{tag}"
        commands = {"verify": ([*prep, "verify", "-i", str(self.inventory_path), "--out",
                                str(verify_out)]
                               + (["--waivers", str(waivers)] if waivers and waivers.exists()
                                  else []), verify_out)}
        for name, target in self.targets.items():
            audit_out = self.out / f"audit-{name}-{tag}"
            # The verify above is strict (the Institute's mode). The audits run while every
            # period replaces the cut, so no signed manifest can be handed to them: the
            # manifest's rows are owed by construction, and these audits are working runs
            # (--no-estricto) that still fail on any "no cumple".
            cmd = [*prep, "audit", target.base_url, "-i", str(self.inventory_path), "--out",
                   str(audit_out), "--no-estricto"]
            if target.ca_file:
                cmd += ["--ca-file", target.ca_file]
            if waivers and waivers.exists():
                cmd += ["--waivers", str(waivers)]
            commands[f"audit {name}"] = (cmd, audit_out)
        timeout = conformance_timeout(len(self.targets) + 1)
        with ThreadPoolExecutor(max_workers=min(len(commands), CONFORMANCE_AT_ONCE)) as pool:
            futures = {k: pool.submit(_report, cmd, out, timeout)
                       for k, (cmd, out) in commands.items()}
            return {k: f.result() for k, f in futures.items()}


def conformance_timeout(hosts: int) -> float:
    """Seconds the verify and the audits may take: they all run at once on the controller,
    beside the night, so their time grows with the hosts."""
    return max(CONFORMANCE_TIMEOUT_S, CONFORMANCE_TIMEOUT_PER_HOST_S * hosts)


def _report(cmd: list[str], out: Path, timeout: float) -> dict:
    """One verify or audit. One that does not end in time is a failed run, recorded like
    any other (the night's results are kept), and stopped with the checks it started: it
    runs in a session of its own, whose whole process group is ended."""
    html = str((out / "conformance.html").relative_to(out.parent))
    with children.popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                        start_new_session=True) as proc:
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            output, _ = proc.communicate()
            return {"ok": False, "html": html, "rc": None, "timed_out": round(timeout),
                    "output": output[-2000:]}
    report = {"ok": proc.returncode == 0, "html": html, "rc": proc.returncode,
              "output": output[-2000:]}
    if not report["ok"]:
        report["failed"] = _failed_checks(out / "conformance.json")
    return report


def _failed_checks(report_file: Path) -> list[str]:
    """The checks a failed run found "no cumple" ("host check" for a verify of several
    hosts), so the drill's verdict says which without opening the report."""
    try:
        rows = json.loads(report_file.read_text())["comprobaciones"]
    except (OSError, ValueError, KeyError, TypeError):
        return []  # no report written: the run's output says why
    hosts = {row.get("host") for row in rows}
    return [row["check"] if len(hosts) == 1 else f"{row.get('host')} {row['check']}"
            for row in rows if row.get("status") == "no cumple"]


def _target(name: str, difusor, ca_file: str | None, on_lab: bool) -> Target:
    """Lab hosts are reached by address (the lab CA names it); real ones by their public name,
    which is what their certificate names."""
    scheme = "https" if difusor.tls else "http"
    host = difusor.address if on_lab else difusor.server_names[0]
    return Target(name, f"{scheme}://{host}/", ca_file)


def _floating_target(floating: str, ca_file: str | None, scheme: str) -> Target:
    address = floating.split("/")[0]
    return Target("flotante", f"{scheme}://{address}/", ca_file, check_name=False)


def _sleep_until(wall: float) -> None:
    delay = wall - time.time()
    if delay > 0:
        time.sleep(delay)


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


__all__ = ["Drill", "Options", "night_times"]
