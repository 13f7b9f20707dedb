"""`prep-iac verify`, `prep-iac audit`, `prep-iac runbook`: parse, call the library, print."""

from __future__ import annotations

import sys

import click

from prep_iac.console import err, out


def _summary(report: dict, paths: dict) -> None:
    from rich.table import Table

    colors = {"cumple": "green", "no cumple": "bold red", "no aplica": "dim",
              "manual": "yellow", "dispensado": "cyan"}
    table = Table(show_header=True, header_style="bold")
    table.add_column("requisito")
    for host in report["hosts"]:
        table.add_column(host)
    for row in report["requisitos"]:
        cells = [row["hosts"][h]["estado"] for h in report["hosts"]]
        table.add_row(f"{row['id']} {row['titulo']}",
                      *[f"[{colors[c]}]{c}[/]" for c in cells])
    out.print(table)
    for row in report["requisitos"]:
        for host, cell in row["hosts"].items():
            if cell["estado"] != "no cumple":
                continue
            for check in report["comprobaciones"]:
                if check["host"] == host and check["check"] in cell["comprobaciones"] \
                        and check["status"] == "no cumple":
                    err.print(f"[red]no cumple[/] {row['id']} {host} {check['check']}: "
                              f"{check['detail']}", highlight=False, markup=True)
    verdict = ("[green]todo requisito obligatorio se cumple o está dispensado[/]"
               if report["exit_code"] == 0 else
               f"[bold red]no se cumplen: {', '.join(report['incumplidos'])}[/]")
    err.print(f"{verdict} ({report.get('segundos', 0)} s)")
    err.print(f"informe: {paths['html']} · {paths['md']} · {paths['json']}")


def _show(report: dict, paths: dict, as_json: bool) -> None:
    if not as_json:
        _summary(report, paths)
        return
    from prep_iac.console import echo_json

    echo_json(report)
    err.print(f"informe: {paths['html']} · {paths['md']} · {paths['json']}", highlight=False)


@click.command()
@click.option("-i", "--inventory", required=True, type=click.Path(dir_okay=False),
              help="the inventory (YAML) whose hosts are checked")
@click.option("--limit", help="only these hosts (comma-separated names)")
@click.option("--waivers", type=click.Path(dir_okay=False), help="waiver file (YAML)")
@click.option("--out", "out_dir", default="verificacion", show_default=True,
              type=click.Path(file_okay=False), help="where the report is written")
@click.option("-j", "--jobs", default=10, show_default=True, help="hosts checked at once")
@click.option("--pentest-informe", "pentest_path", multiple=True,
              type=click.Path(dir_okay=False, exists=True),
              help="a `prep-iac pentest` or `continuidad` report (JSON): its CONV-IV.3 row "
                   "joins this one (repeatable)")
@click.option("--json", "as_json", is_flag=True,
              help="print the report (as conformance.json) on stdout instead of the table")
@click.option("--cuenta-iec", "reader_key", type=click.Path(dir_okay=False, exists=True),
              help="the Institute's private key: check as its read-only account (iec-lector)")
def verify(inventory, limit, waivers, out_dir, jobs, as_json, pentest_path, reader_key):
    """Check every host of an inventory from inside (SSH, testinfra): the report, requirement
    by requirement. Exit 0 only when every mandatory requirement is met or waived."""
    from prep_iac.conformance.verify import verify as run

    def progress(host, what):
        err.print(f"[dim]{host}: {what}[/]", highlight=False)

    report, paths = run(inventory, limit=limit, waivers_path=waivers, out_dir=out_dir,
                        jobs=jobs, progress=progress, pentest_path=pentest_path,
                        reader_key=reader_key)
    _show(report, paths, as_json)
    sys.exit(report["exit_code"])


@click.command()
@click.argument("url")
@click.option("--manifest", type=click.Path(dir_okay=False, exists=True),
              help="the IEC's signed manifest of the latest cut (signature beside it, .sig)")
@click.option("--signature", type=click.Path(dir_okay=False, exists=True),
              help="the manifest's signature, when not MANIFEST.sig")
@click.option("--ssh", help="the SFTP endpoint, HOST:PORT (default: the registry's address)")
@click.option("-i", "--registry", type=click.Path(dir_okay=False, exists=True),
              help="an inventory naming this difusor: portal origins, host key, IEC signers")
@click.option("--portal", multiple=True, help="a portal origin allowed to frame the PREP")
@click.option("--signers", type=click.Path(dir_okay=False, exists=True),
              help="file of the IEC's signing public keys (one per line)")
@click.option("--ca-file", type=click.Path(dir_okay=False, exists=True),
              help="extra CA to trust (a lab CA)")
@click.option("--sample", type=int, help="hash only this many files of the manifest")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the sample")
@click.option("--waivers", type=click.Path(dir_okay=False), help="waiver file (YAML)")
@click.option("--out", "out_dir", default="auditoria", show_default=True,
              type=click.Path(file_okay=False), help="where the report is written")
@click.option("--pentest-informe", "pentest_path", multiple=True,
              type=click.Path(dir_okay=False, exists=True),
              help="a `prep-iac pentest` or `continuidad` report (JSON): its CONV-IV.3 row "
                   "joins this one (repeatable)")
@click.option("--json", "as_json", is_flag=True,
              help="print the report (as conformance.json) on stdout instead of the table")
def audit(url, manifest, signature, ssh, registry, portal, signers, ca_file, sample, seed,
          waivers, out_dir, as_json, pentest_path):
    """Check a difusor from outside, as anyone can (HTTP, TLS, ports, SFTP host key)."""
    from prep_iac.conformance.audit.run import audit as run

    report, paths = run(url, out_dir=out_dir, waivers_path=waivers, registry=registry,
                        portals=portal, manifest_path=manifest, signature=signature,
                        signers_file=signers, ssh=ssh, ca_file=ca_file, sample=sample,
                        seed=seed, pentest_path=pentest_path)
    _show(report, paths, as_json)
    sys.exit(report["exit_code"])


@click.command()
@click.option("-i", "--inventory", required=True, type=click.Path(dir_okay=False, exists=True))
@click.option("--out", "out_dir", default="runbook", show_default=True,
              type=click.Path(file_okay=False), help="where runbook.md and runbook.html go")
def runbook(inventory, out_dir):
    """Write the operation and contingency procedures of an inventory (Spanish)."""
    from prep_iac.conformance.runbook import write_runbook

    paths = write_runbook(inventory, out_dir)
    err.print(f"procedimientos: {paths['html']} · {paths['md']}")
