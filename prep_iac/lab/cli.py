"""`prep-iac lab …`: local test hosts. Thin: parses, calls prep_iac.lab.Lab, prints."""

from __future__ import annotations

import os
import threading
import time

import click
from rich.live import Live
from rich.table import Table

from prep_iac.console import err, out
from prep_iac.errors import PrepError
from prep_iac.lab.base import RELEASES
from prep_iac.lab.lab import Lab, all_labs

name_option = click.option("--name", envvar="PREP_LAB_NAME", default=None,
                           help="lab name (env PREP_LAB_NAME; default: lab)")
subnet_option = click.option("--subnet", envvar="PREP_LAB_SUBNET", default=None,
                             help="lab IPv4 /24 (env PREP_LAB_SUBNET; default: 10.77.0.0/24)")


class BootDisplay:
    """A live table of hosts and what each is doing, fed by Lab.up's report callback."""

    def __init__(self):
        self.rows: dict[str, tuple[str, float]] = {}
        self.start = time.monotonic()
        self.lock = threading.Lock()
        self.live = Live(self.render(), console=err, refresh_per_second=8, transient=False)

    def render(self) -> Table:
        table = Table(title="lab up", show_edge=False)
        table.add_column("host")
        table.add_column("step")
        table.add_column("at", justify="right")
        for host, (what, at) in self.rows.items():
            style = "green" if what.startswith("ready") else "red" if "fail" in what else ""
            table.add_row(host, f"[{style}]{what}[/]" if style else what, f"{at:5.1f} s")
        return table

    def __call__(self, host: str, what: str) -> None:
        with self.lock:
            self.rows[host] = (what, time.monotonic() - self.start)
            self.live.update(self.render())


@click.group()
def lab():
    """Local lab: booted Debian hosts (systemd-nspawn) to deploy to and test against."""


@lab.command()
@click.option("--difusores", default=2, show_default=True, type=click.IntRange(0, 189))
@click.option("--publishers", default=1, show_default=True, type=click.IntRange(0, 50))
@click.option("--websites", default=0, show_default=True, type=click.IntRange(0, 1),
              help="the Institute's web host that serves the public list of difusores")
@click.option("--release", type=click.Choice(RELEASES), default=None,
              help="Debian release of the hosts (default bookworm, or the lab's own)")
@click.option("--timeout", default=120.0, show_default=True, help="seconds to wait for boot")
@name_option
@subnet_option
def up(difusores, publishers, websites, release, timeout, name, subnet):
    """Boot the lab's hosts and write its inventory (running hosts stay as they are)."""
    the_lab = Lab(name=name, subnet=subnet, release=release)
    display = BootDisplay()
    started = time.monotonic()
    with display.live:
        hosts = the_lab.up(difusores=difusores, publishers=publishers, timeout=timeout,
                           report=display, websites=websites)
    err.print(f"[green]lab {the_lab.name!r} up[/] ({len(hosts)} hosts, "
              f"{time.monotonic() - started:.1f} s)")
    out.print(f"inventory:  {the_lab.inventory_path}")
    out.print(f"ssh_config: {the_lab.ssh_config_path}")
    out.print(f"try:        prep-iac lab ssh {next(iter(hosts))}"
              + (f" --name {the_lab.name}" if the_lab.name != "lab" else ""))


def _existing(name: str | None) -> Lab:
    the_lab = Lab(name=name)
    if not the_lab.exists:
        labs = ", ".join(all_labs()) or "none"
        raise PrepError(f"there is no lab {the_lab.name!r} (labs here: {labs})",
                        "prep-iac lab up, or pick one with --name / PREP_LAB_NAME")
    return the_lab


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:.1f} MiB"


@lab.command()
@name_option
def status(name):
    """Hosts of the lab: address, systemd state, memory."""
    the_lab = _existing(name)
    table = Table(title=f"lab {the_lab.name} ({the_lab.spec.subnet}, {the_lab.spec.release})")
    for col in ("host", "address", "state", "memory"):
        table.add_column(col, justify="right" if col == "memory" else "left")
    for row in the_lab.status():
        color = {"running": "green", "degraded": "yellow", "stopped": "dim"}.get(row["state"], "red")
        table.add_row(row["name"], row["address"], f"[{color}]{row['state']}[/]",
                      _mib(row["memory"]))
    out.print(table)
    out.print(f"inventory: {the_lab.inventory_path}")


@lab.command(context_settings={"ignore_unknown_options": True})
@name_option
@click.argument("host")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def ssh(name, host, command):
    """Open a shell on HOST as the admin account, or run COMMAND (after --)."""
    the_lab = _existing(name)
    the_lab._check_host(host)
    argv = the_lab.ssh_command(host, *command)
    if not command:
        argv.insert(1, "-t")
    os.execvp(argv[0], argv)


@lab.command()
@name_option
def down(name):
    """Power the hosts off; their disks stay for the next `up`."""
    the_lab = _existing(name)
    with err.status(f"stopping lab {the_lab.name}"):
        the_lab.down()
    err.print(f"[green]lab {the_lab.name!r} down[/]")


@lab.command()
@name_option
def destroy(name):
    """Power off and delete the lab's hosts, keys and inventory (the cached base stays)."""
    the_lab = _existing(name)
    with err.status(f"destroying lab {the_lab.name}"):
        the_lab.destroy()
    err.print(f"[green]lab {the_lab.name!r} destroyed[/]")
