"""`prep-iac expediente -i INVENTORY --out DIR`: parse, call build.py, print."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("-i", "--inventory", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="the difusor's inventory, with its participation block")
@click.option("--out", "out_dir", default="expediente", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="where the documents go (and expediente.json, the record of every issue)")
@click.option("--evidencias", "evidence_dir", default=".", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="folder holding verificacion/, simulacro/ and memoria/: the evidence the "
                   "calendar page counts")
@click.option("--no-pdf", is_flag=True, help="write the HTML documents only")
@click.option("--json", "as_json", is_flag=True,
              help="print the documents, the sheet and the calendar as JSON")
def expediente(inventory, out_dir, evidence_dir, no_pdf, as_json):
    """The difusor's file for the Institute (Spanish): notice, letter of commitment,
    infrastructure sheet read on the servers, contacts of each stage, logo, calendar;
    each document as HTML and PDF, dated and with its folio."""
    from prep_iac.console import err
    from prep_iac.expediente.build import build, require_participation
    from prep_iac.expediente.facts import read_hosts
    from prep_iac.inventory import load_inventory

    inv = load_inventory(inventory)
    require_participation(inv)
    if not no_pdf:
        from prep_iac.memoria import pdf

        pdf.require("the expediente's PDF")
    facts = read_hosts(inv, inventory, list(inv.difusores))
    summary = build(inv, out_dir, facts, evidence_dir=evidence_dir, pdf=not no_pdf)
    if as_json:
        from prep_iac.console import echo_json

        echo_json(summary)
        return
    for name, why in summary["no_leidos"].items():
        err.print(f"[yellow]no leído:[/] {name}: {why}", highlight=False, markup=True)
    for d in summary["documentos"]:
        err.print(f"{d['folio']}  {d['titulo']}: {d['html']}"
                  + (f" · {d['pdf']}" if d["pdf"] else ""), highlight=False, markup=False)
    late = [c for c in summary["calendario"] if c["estado"] == "vencido"]
    for c in late:
        err.print(f"[red]vencido[/] {c['requisito']} {c['titulo']}: {c['detalle']}",
                  highlight=False)
    err.print(f"expediente: {Path(out_dir) / 'index.html'} (emisión {summary['emision']}, "
              f"{summary['fecha']})", highlight=False)
