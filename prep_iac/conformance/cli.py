"""`prep-iac verify`, `prep-iac audit`, `prep-iac runbook`: parse, call the library, print."""

from __future__ import annotations

import sys

import click

from prep_iac.console import err, out


def _summary(report: dict, paths: dict) -> None:
    from rich.table import Table

    colors = {"cumple": "green", "no cumple": "bold red", "no aplica": "dim",
              "manual": "yellow", "pendiente": "magenta", "dispensado": "cyan"}
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
    for row in report["requisitos"]:
        for owed in row.get("evidencia_pendiente", []):
            err.print(f"[yellow]evidencia pendiente[/] {row['id']} {owed}", highlight=False,
                      markup=True)
    for waiver in report["dispensas"]:
        if waiver.get("estado", "válida") != "válida":
            err.print(f"[yellow]dispensa {waiver['estado']}[/] {waiver['id']}: "
                      f"{waiver['motivo']} (no cuenta)", highlight=False, markup=True)
    if report["incumplidos"]:
        verdict = f"[bold red]no se cumplen: {', '.join(report['incumplidos'])}[/]"
    elif report["exit_code"]:
        verdict = (f"[bold red]evidencia pendiente (modo estricto): "
                   f"{', '.join(report['evidencia_pendiente'])}[/]")
    elif report.get("evidencia_pendiente"):
        verdict = (f"[yellow]sin fallas, pero se debe evidencia de "
                   f"{', '.join(report['evidencia_pendiente'])} (--no-estricto: el IEC no "
                   "aceptará este informe)[/]")
    else:
        verdict = "[green]todo requisito obligatorio se cumple o está dispensado[/]"
    err.print(f"{verdict} ({report.get('segundos', 0)} s)")
    signed = " (firmado)" if "json_sig" in paths else " (SIN FIRMA: --llave-informe)"
    err.print(f"informe{signed}: {paths['html']} · {paths['md']} · {paths['json']}")


def _show(report: dict, paths: dict, as_json: bool) -> None:
    if not as_json:
        _summary(report, paths)
        return
    from prep_iac.console import echo_json

    echo_json(report)
    err.print(f"informe: {paths['html']} · {paths['md']} · {paths['json']}", highlight=False)


def _strict_option(fn):
    return click.option(
        "--estricto/--no-estricto", "strict", default=True, show_default=True,
        help="strict (the Institute's run): evidence still owed (\"manual\", \"no aplica\" on "
             "a mandatory requirement) fails like a failure; --no-estricto for a working "
             "run, which reports it and exits 0")(fn)


def _report_options(fn):
    """What verify and audit both take: the difusor's own tests' reports, and --json."""
    fn = click.option("--json", "as_json", is_flag=True,
                      help="print the report (as conformance.json) on stdout instead of the "
                           "table")(fn)
    return click.option(
        "--pentest-informe", "pentest_path", multiple=True,
        type=click.Path(dir_okay=False, exists=True),
        help="a `prep-iac pentest` or `continuidad` report (JSON): its CONV-IV.3 row joins "
             "this one (repeatable)")(fn)


def _key_option(fn):
    return click.option(
        "--llave-informe", "report_key", type=click.Path(dir_okay=False, exists=True),
        help="private key that signs the report (its public half: the difusor's report_key "
             "in the inventory); default $PREP_INFORME_LLAVE")(fn)


@click.command()
@click.option("-i", "--inventory", required=True, type=click.Path(dir_okay=False),
              help="the inventory (YAML) whose hosts are checked")
@click.option("--limit", help="only these hosts (comma-separated names)")
@click.option("--waivers", type=click.Path(dir_okay=False), help="waiver file (YAML)")
@click.option("--out", "out_dir", default="verificacion", show_default=True,
              type=click.Path(file_okay=False), help="where the report is written")
@click.option("-j", "--jobs", default=10, show_default=True, help="hosts checked at once")
@click.option("--evidencias", "evidence_dir", default=".", show_default=True,
              type=click.Path(file_okay=False),
              help="folder holding expediente/, simulacro/ and memoria/: the evidence of the "
                   "call's deadlines (docs/expediente.md)")
@_report_options
@click.option("--cuenta-iec", "reader_key", type=click.Path(dir_okay=False, exists=True),
              help="the Institute's private key: check as its read-only account (iec-lector)")
@_strict_option
@_key_option
def verify(inventory, limit, waivers, out_dir, jobs, evidence_dir, pentest_path, as_json,
           reader_key, strict, report_key):
    """Check every host of an inventory from inside (SSH, testinfra): the report, requirement
    by requirement. Exit 0 only when every mandatory requirement is met or waived."""
    from prep_iac.conformance.signature import key_from
    from prep_iac.conformance.verify import verify as run

    def progress(host, what):
        err.print(f"[dim]{host}: {what}[/]", highlight=False)

    report, paths = run(inventory, limit=limit, waivers_path=waivers, out_dir=out_dir,
                        jobs=jobs, progress=progress, evidence_dir=evidence_dir,
                        pentest_path=pentest_path, reader_key=reader_key, strict=strict,
                        report_key=key_from(report_key))
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
              help="extra CA to trust for the site's certificate (the lab's CA, a test "
                   "ACME server's root)")
@click.option("--sample", type=int, help="hash only this many files of the manifest")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the sample")
@click.option("--waivers", type=click.Path(dir_okay=False), help="waiver file (YAML)")
@click.option("--out", "out_dir", default="auditoria", show_default=True,
              type=click.Path(file_okay=False), help="where the report is written")
@_report_options
@_strict_option
@_key_option
def audit(url, manifest, signature, ssh, registry, portal, signers, ca_file, sample, seed,
          waivers, out_dir, pentest_path, as_json, strict, report_key):
    """Check a difusor from outside, as anyone can (HTTP, TLS, ports, SFTP host key)."""
    from prep_iac.conformance.audit.run import audit as run
    from prep_iac.conformance.signature import key_from

    report, paths = run(url, out_dir=out_dir, waivers_path=waivers, registry=registry,
                        strict=strict, report_key=key_from(report_key),
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


@click.group()
def informe():
    """Conformance reports: check a signed report (the Institute's side)."""


@informe.command("verificar")
@click.argument("report", type=click.Path(exists=True))
@click.option("-i", "--inventory", required=True, type=click.Path(dir_okay=False, exists=True),
              help="the Institute's copy of the inventory (the difusores' report_key)")
@click.option("--max-horas", "max_hours", default=24.0, show_default=True, type=float,
              help="a report older than this is refused")
def informe_verificar(report, inventory, max_hours):
    """Check REPORT (a report folder or its conformance.json): every file signed by a
    difusor's report_key, about that difusor, and fresh. Exit 1 on any problem."""
    import datetime as dt

    from prep_iac.conformance.signature import check_report
    from prep_iac.inventory import load_inventory

    found = check_report(report, load_inventory(inventory), dt.timedelta(hours=max_hours))
    for problem in found["problemas"]:
        err.print(f"[bold red]no válido[/] {problem}", highlight=False, markup=True)
    if found["problemas"]:
        sys.exit(1)
    err.print(f"[green]informe {found['informe']} válido[/]: firmado por "
              f"{found['firmante']}, generado {found['generado']} "
              f"({', '.join(found['archivos'])})", highlight=False, markup=True)


@click.group()
def dispensa():
    """Waivers the Institute grants (dispensas)."""


@dispensa.command("firmar")
@click.argument("waivers", type=click.Path(dir_okay=False, exists=True))
@click.option("--llave", "key", required=True, type=click.Path(dir_okay=False, exists=True),
              help="the Institute's waiver-signing private key (public half in "
                   "iec.waiver_signers)")
def dispensa_firmar(waivers, key):
    """Sign a waiver file as the Institute: writes WAIVERS.sig."""
    from prep_iac.conformance.waivers import sign_file

    err.print(f"firma: {sign_file(waivers, key)}", highlight=False)
