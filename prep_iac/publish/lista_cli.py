"""`prep-iac lista check -i INVENTORY`: the public list served by the Institute's web host,
against the publisher's ledger (exit 1 with each difference)."""

import click

from prep_iac.errors import PrepError
from prep_iac.publish.cli import _ledger_path, _registry, _remote_rows, with_common


@click.group()
def lista():
    """The public list of difusores on the Institute's site (CONV-I.7, III.2)."""


@lista.command()
@with_common
@click.option("--remote", is_flag=True,
              help="read the ledger on the inventory's publisher host over SSH")
def check(inventory_path, registry_path, publisher, ledger, remote):
    """Fetch the published list (HTML and JSON) and compare it with the ledger."""
    from prep_iac.onhost.publisher.ledger import Ledger
    from prep_iac.publish.listcheck import States, check_website

    registry = _registry(inventory_path, registry_path, publisher)
    if not registry.websites:
        raise PrepError("the inventory names no web host for the public list",
                        "add the Institute's web host under 'websites:' (docs/pipeline.md)")
    if remote:
        states = States({r["difusor"]: r["state"] for r in _remote_rows(inventory_path,
                                                                         publisher)})
    else:
        path = _ledger_path(registry, inventory_path, ledger)
        if not path.exists():
            raise PrepError(f"no ledger at {path}",
                            "pass --remote to read the publisher's, or --ledger FILE")
        led = Ledger(path, registry.period_s)
        names = [d.name for d in registry.difusores]
        states = States({r.difusor: r.state for r in led.rows(names)})
        led.close()
    failed = False
    for website in registry.websites:
        problems = check_website(registry, states, website)
        if problems:
            failed = True
            click.echo(f"{website.name} ({website.public_url}): {len(problems)} diferencias")
            for line in problems:
                click.echo(f"  {line}")
        else:
            click.echo(f"{website.name} ({website.public_url}): la lista publicada coincide "
                       "con el registro")
    raise SystemExit(1 if failed else 0)
